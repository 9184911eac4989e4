// A quick "already valid as it is" test compiled from a zod schema: for reading back values that were written by
// parsing with that schema (stored evaluation inputs), where zod's own parse, which copies every object and array,
// was a fifth of a replay. It never rejects anything: a value it does not accept is left to the schema (which then
// reports the problem, or fills in a default the stored value lacks), so it can only ever save work, not decide.
import type * as z from "zod/mini";

/** A schema kind or check the compiler does not know: the schema is then always parsed by zod. */
export class UnsupportedSchemaError extends Error {
  constructor(readonly kind: string) {
    super(`fast check: zod schema part "${kind}" is not supported`);
    this.name = "UnsupportedSchemaError";
  }
}

type Check = (value: unknown) => boolean;

/** Minimal views of the zod definitions read here (zod's own types for them are internal). */
interface Def {
  type: string;
  checks?: Array<{ _zod: { def: CheckDef } }>;
  coerce?: boolean;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  innerType?: Schema;
  element?: Schema;
  keyType?: Schema;
  valueType?: Schema;
  mode?: string;
}
interface CheckDef {
  check: string;
  format?: string;
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
}
interface Schema {
  _zod: { def: Def; values?: Set<unknown> };
}

/** An object with an ordinary prototype, as JSON.parse makes. */
function isPlain(value: unknown): value is object {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A plain object's keys when they are all enumerable strings (zod reads a record's symbol keys too, and refuses them). */
function plainKeys(value: unknown): string[] | null {
  if (!isPlain(value)) return null;
  const keys = Object.keys(value);
  return Reflect.ownKeys(value).length === keys.length ? keys : null;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function checkOf(def: CheckDef): Check {
  switch (def.check) {
    case "number_format":
      if (def.format === "safeint") return (v) => Number.isSafeInteger(v);
      throw new UnsupportedSchemaError(`number_format ${def.format}`);
    case "greater_than": {
      const bound = def.value;
      if (typeof bound !== "number") throw new UnsupportedSchemaError("greater_than (not a number)");
      return def.inclusive ? (v) => (v as number) >= bound : (v) => (v as number) > bound;
    }
    case "min_length": {
      const min = def.minimum ?? 0;
      // zod counts a string's length in code points; two UTF-16 units hold at least one.
      return (v) => {
        const units = (v as { length: number }).length;
        if (typeof v !== "string") return units >= min;
        return units >= 2 * min || (units >= min && codePoints(v) >= min);
      };
    }
    default:
      throw new UnsupportedSchemaError(def.check);
  }
}

/** `inner` and then every check of `def`, in order. */
function withChecks(def: Def, inner: Check): Check {
  const checks = (def.checks ?? []).map((c) => checkOf(c._zod.def));
  if (checks.length === 0) return inner;
  return (v) => {
    if (!inner(v)) return false;
    for (const c of checks) if (!c(v)) return false;
    return true;
  };
}

/** For an object member: true when absent is fine as it is (optional), false when zod would add or refuse it. */
function absentOk(schema: Schema): boolean {
  return schema._zod.def.type === "optional";
}

function compile(schema: Schema): Check {
  const def = schema._zod.def;
  if (def.coerce) throw new UnsupportedSchemaError(`${def.type} (coerce)`);
  switch (def.type) {
    case "string":
      return withChecks(def, (v) => typeof v === "string");
    case "number":
      return withChecks(def, (v) => typeof v === "number" && Number.isFinite(v));
    case "boolean":
      return withChecks(def, (v) => typeof v === "boolean");
    case "enum": {
      const values = schema._zod.values;
      if (!values) throw new UnsupportedSchemaError("enum without values");
      return withChecks(def, (v) => values.has(v));
    }
    case "optional":
    case "default": {
      // A present value is parsed by the inner schema; an absent one is handled by the enclosing object.
      const inner = compile(def.innerType as Schema);
      return withChecks(def, (v) => v !== undefined && inner(v));
    }
    case "nullable": {
      const inner = compile(def.innerType as Schema);
      return withChecks(def, (v) => v === null || inner(v));
    }
    case "array": {
      const element = compile(def.element as Schema);
      return withChecks(def, (v) => {
        if (!Array.isArray(v) || Object.getPrototypeOf(v) !== Array.prototype) return false;
        for (let i = 0; i < v.length; i++) if (!element(v[i])) return false;
        return true;
      });
    }
    case "record": {
      if (def.keyType?._zod.def.type !== "string" || (def.keyType._zod.def.checks ?? []).length > 0 || def.mode !== undefined)
        throw new UnsupportedSchemaError("record (key other than a plain string)");
      const value = compile(def.valueType as Schema);
      return withChecks(def, (v) => {
        const keys = plainKeys(v);
        if (keys === null) return false;
        for (const key of keys) if (key === "__proto__" || !value((v as Record<string, unknown>)[key])) return false;
        return true;
      });
    }
    case "object": {
      // Strict objects (an unknown key is zod's to refuse) and plain ones (zod would drop it, so a value with one is not
      // given back as it is): either way a value with an unknown key is left to zod. A loose object would keep it.
      if (def.catchall !== undefined && def.catchall._zod.def.type !== "never") throw new UnsupportedSchemaError("object (loose)");
      const members = Object.entries(def.shape ?? {}).map(([key, member]) => ({ key, check: compile(member), absentOk: absentOk(member) }));
      return withChecks(def, (v) => {
        if (!isPlain(v)) return false;
        const record = v as Record<string, unknown>;
        let present = 0;
        for (const m of members) {
          const member = record[m.key];
          if (member === undefined) {
            if (!m.absentOk || Object.hasOwn(record, m.key)) return false;
          } else if (!m.check(member)) return false;
          else present++;
        }
        // No unknown key: exactly as many keys as members present. for-in, not Object.keys: no array per object; it
        // lists inherited enumerable keys too, which zod refuses alike.
        let keys = 0;
        for (const _ in v) keys++;
        return keys === present;
      });
    }
    default:
      throw new UnsupportedSchemaError(def.type);
  }
}

/**
 * A test that is true only for values `schema` would accept and give back unchanged (deep-equal, nothing defaulted):
 * such a value can be used as the parse result. Throws UnsupportedSchemaError for a schema it cannot follow exactly.
 */
export function compileFastCheck<T>(schema: z.core.$ZodType<T>): (value: unknown) => value is T {
  const check = compile(schema);
  return (value: unknown): value is T => check(value);
}
