// Typed store errors, each with the store and operation it came from.

export class StoreError extends Error {
  override name = "StoreError";
  constructor(
    message: string,
    readonly store: string,
    readonly operation: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The schema is newer than this Governor, or a migration is missing: refuse rather than risk the data. */
export class StoreSchemaError extends StoreError {
  override name = "StoreSchemaError";
  constructor(
    message: string,
    store: string,
    readonly found: number,
    readonly known: number,
  ) {
    super(message, store, "migrate");
  }
}

/** Imported rows that do not continue the chain as hashed: nothing of the batch was written. */
export class ChainImportError extends StoreError {
  override name = "ChainImportError";
  constructor(
    message: string,
    store: string,
    readonly id: number,
  ) {
    super(message, store, "importStored");
  }
}

/** Runs a store operation; a driver error comes out as a StoreError naming the store and the operation. */
export async function inContext<T>(store: string, operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof StoreError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new StoreError(`${store}: ${operation} failed: ${detail}`, store, operation, { cause: error });
  }
}
