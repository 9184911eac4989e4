// Vitest runs a global setup once for the root config and once for each project, all in one process: a resource
// the whole run shares (the temporary folder, the PostgreSQL server) is made by the first and released by the last.
interface Shared<T> {
  value: Promise<T>;
  users: number;
}

/** `make` once per run under `key`; the returned teardown calls `release` when the last user is done. */
export async function shared<T>(key: string, make: () => Promise<T> | T, release: (value: T) => void): Promise<{ value: T; teardown: () => void }> {
  const slot = Symbol.for(`governor.test.${key}`);
  const registry = globalThis as unknown as Record<symbol, Shared<T> | undefined>;
  const entry = (registry[slot] ??= { value: Promise.resolve().then(make), users: 0 });
  entry.users += 1;
  const value = await entry.value;
  let done = false;
  return {
    value,
    teardown: () => {
      if (done) return;
      done = true;
      entry.users -= 1;
      if (entry.users > 0) return;
      registry[slot] = undefined;
      release(value);
    },
  };
}
