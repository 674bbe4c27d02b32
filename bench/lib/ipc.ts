/**
 * A tiny request/response channel over the `child_process.fork` IPC pipe: the bench's
 * orchestrator drives its child processes (upstream fakes, server under test) with it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface CallMessage {
  id: number;
  cmd: string;
  args?: unknown;
}
interface ReplyMessage {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A handle on a forked bench process. */
export interface BenchWorker {
  readonly pid: number;
  /** Runs `cmd` in the child and resolves with its result. */
  call<T = unknown>(cmd: string, args?: unknown): Promise<T>;
  /** Asks the child to shut down (`close` command), then waits for it to exit. */
  close(): Promise<void>;
}

/** Options of {@link startWorker}. */
export interface StartWorkerOptions {
  /** Extra Node flags, e.g. `--expose-gc` or `--cpu-prof`. */
  nodeFlags?: string[];
  /** Passed as `process.argv.slice(2)`. */
  args?: string[];
}

/**
 * Forks `bench/<relative>` and waits for its `ready` call to answer. TypeScript runs under tsx;
 * a built `.mjs` runs on plain Node (no loader thread, no transpiling: production-like figures).
 * With `BENCH_NODE=<path to a node binary>` the workers run on that Node instead of this one
 * (`scripts/ensure-node.sh 24` fetches Node 24), the floor and the library alike.
 */
export async function startWorker(relative: string, options: StartWorkerOptions = {}): Promise<BenchWorker> {
  const script = fileURLToPath(new URL(`../${relative}`, import.meta.url));
  const loader = relative.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child: ChildProcess = fork(script, options.args ?? [], {
    execArgv: [...loader, ...(options.nodeFlags ?? [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    ...(process.env.BENCH_NODE ? { execPath: process.env.BENCH_NODE } : {}),
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: ReplyMessage) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${relative}: ${message.error}`));
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${relative} exited (${code})`));
    pending.clear();
  });
  const worker: BenchWorker = {
    pid: child.pid ?? -1,
    call<T>(cmd: string, args?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, cmd, args } satisfies CallMessage);
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      await worker.call('close').catch(() => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  await worker.call('ready');
  return worker;
}

/** A command the child answers. */
export type Handler = (args: never) => unknown;

/**
 * Serves `handlers` over the parent's IPC channel. `ready` and `close` are built in: `close`
 * runs `onClose`, answers, and exits the process.
 */
export function serveIpc(handlers: Record<string, Handler>, onClose: () => Promise<void>): void {
  const all: Record<string, Handler> = {
    ready: () => true,
    ...handlers,
    close: () => onClose(),
  };
  process.on('message', (message: CallMessage) => {
    const handler = all[message.cmd];
    const reply = (payload: Omit<ReplyMessage, 'id'>) => process.send?.({ id: message.id, ...payload });
    if (!handler) {
      reply({ ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (result) => reply({ ok: true, result }),
        (error: unknown) =>
          reply({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
      )
      .then(() => {
        // An explicit exit is what makes `--cpu-prof` write its profile, whatever still holds the loop.
        if (message.cmd === 'close') setTimeout(() => process.exit(0), 50);
      });
  });
}
