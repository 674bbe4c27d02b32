/** The part of a Node `http.Server` that {@link closeHttpServer} uses. */
export interface ClosableServer {
  close(callback?: (error?: Error) => void): unknown;
  closeAllConnections?(): void;
}

/**
 * Stops accepting connections and cuts the open ones, event streams included, so shutdown does not
 * wait for a chat that may run for minutes.
 */
export function closeHttpServer(server: ClosableServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections?.();
  });
}

/** The longest a shutdown may take before the process gives up and exits with code 1. */
const FORCE_EXIT_MS = 5000;

/**
 * Runs `close` once on the first SIGINT or SIGTERM, then exits (code 0, or 1 if closing failed or
 * took longer than {@link FORCE_EXIT_MS}).
 */
export function onShutdown(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    setTimeout(() => process.exit(1), FORCE_EXIT_MS).unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('shutdown failed:', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
