import type { EventInbox } from './event-inbox.js';

/** What {@link asCompleted} yields: a settled task with its index, or an event from the inbox. */
export type Completion<T, E> = ({ index: number } & PromiseSettledResult<T>) | { status: 'event'; event: E };

/**
 * Yields the outcomes of `tasks` in the order they settle, each with its index, so results can
 * be reported as soon as each is ready while the caller keeps the original order for the model.
 * With an `inbox`, events pushed into it while tasks run are yielded in between, as they come.
 * @internal
 */
export async function* asCompleted<T, E = never>(
  tasks: readonly Promise<T>[],
  inbox?: EventInbox<E>,
): AsyncGenerator<Completion<T, E>> {
  const pending = new Map<number, Promise<{ index: number } & PromiseSettledResult<T>>>();
  tasks.forEach((task, index) => {
    pending.set(
      index,
      task.then(
        (value) => ({ index, status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ index, status: 'rejected' as const, reason }),
      ),
    );
  });
  for (;;) {
    for (let event = inbox?.take(); event !== undefined; event = inbox?.take()) yield { status: 'event', event };
    if (pending.size === 0) return;
    const settled = await (inbox === undefined
      ? Promise.race(pending.values())
      : Promise.race([...pending.values(), inbox.waitForEvent().then(() => undefined)]));
    if (settled === undefined) continue;
    pending.delete(settled.index);
    yield settled;
  }
}
