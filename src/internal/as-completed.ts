/**
 * Yields the outcomes of `tasks` in the order they settle, each with its index, so results can
 * be reported as soon as each is ready while the caller keeps the original order for the model.
 * @internal
 */
export async function* asCompleted<T>(
  tasks: readonly Promise<T>[],
): AsyncGenerator<{ index: number } & PromiseSettledResult<T>> {
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
  while (pending.size > 0) {
    const settled = await Promise.race(pending.values());
    pending.delete(settled.index);
    yield settled;
  }
}
