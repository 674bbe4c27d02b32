import { HOSTS, MOUNT } from '../adapters/hosts.js';
import { runHttpScenarios } from './http-scenarios.js';

// The real handler, over real sockets, in every host: Express 4 and 5, Fastify 5, Koa 2 and 3
// (with and without the host's body parser), and a bare node:http server using the bridge.
for (const host of HOSTS) {
  runHttpScenarios(
    host.name,
    async (handler) => {
      const running = await host.start(handler);
      return { baseUrl: `${running.origin}${MOUNT}`, close: () => running.close() };
    },
    { hostParsesBody: host.body === 'host' },
  );
}
