import { HOSTS, MOUNT } from '../adapters/hosts.js';
import { PROVIDERS } from '../fixtures/providers.js';
import { runProviderChatScenarios } from './http-scenarios.js';

// Every provider's chat scenarios, over a real socket through the bare node:http bridge (the
// code every Node adapter shares), and through `handler.fetch` with no socket at all.
const nodeHost = HOSTS.find((host) => host.name.includes('node:http')) ?? HOSTS[0];

for (const provider of PROVIDERS) {
  runProviderChatScenarios(provider, nodeHost?.name ?? 'node', async (handler) => {
    if (!nodeHost) throw new Error('no Node host to mount on');
    const running = await nodeHost.start(handler);
    return { baseUrl: `${running.origin}${MOUNT}`, close: () => running.close() };
  });
  runProviderChatScenarios(provider, 'handler.fetch', async (handler) => ({
    baseUrl: 'http://local',
    fetch: (url, init) => handler.fetch(new Request(url, init)),
    close: async () => {},
  }));
}
