import type { ChatHandler } from '../../http/chat-handler.js';
import { isNodeAware, type NodeTransportFactory, USE_NODE_TRANSPORT } from '../../http/node-body.js';
import { createNodeFetch } from './node-fetch.js';

/**
 * Turns on the Node fast paths of a handler made by `createChatHandler`: request bodies read
 * from the Node stream, and provider calls over `node:http` (unless the host set `llm.fetch`).
 * Returns whether the handler reads Node request bodies. Other handlers are left as they are.
 */
export function enableNodeFastPaths(handler: ChatHandler): boolean {
  if (!isNodeAware(handler)) return false;
  const install = (handler as unknown as Record<symbol, ((make: NodeTransportFactory) => void) | undefined>)[
    USE_NODE_TRANSPORT
  ];
  install?.(createNodeFetch);
  return true;
}
