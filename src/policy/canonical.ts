// Canonical JSON: object keys sorted, no whitespace. The byte-for-byte form used to compare and hash decisions.
//
// Defined as JSON.stringify of a copy with every object's keys sorted (test/policy/canonical.test.ts checks exactly
// that), but written directly: the sorted copy was most of the cost of hashing a row and of replaying one.
export function canonicalJson(value: unknown): string {
  // A value whose objects already list their keys in the canonical order is written as it is by JSON.stringify, in
  // native code: the evaluator builds its decisions so (test/policy/canonical.test.ts), and then sorting is a check.
  return inCanonicalOrder(value) ? JSON.stringify(value) : (write(value) as string);
}

/**
 * Whether JSON.stringify(value) is already its canonical JSON: only plain objects and arrays (nothing with a toJSON,
 * which JSON.stringify would call and the definition does not), each object's keys after its index keys ascending.
 * Own keys list index keys first, in numeric order, as the definition does; so sorted keys leave the order unchanged.
 */
function inCanonicalOrder(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return true;
  if ("toJSON" in value) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!inCanonicalOrder(value[i])) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // for-in, not Object.keys: no array per object. With an ordinary prototype it lists the own keys in their order (and
  // inherited enumerable ones only if Object.prototype was given some, which neither writer reads: a stricter check).
  let prev: string | undefined;
  for (const key in value) {
    // Index keys come first, in numeric order (not text order): only those may be out of text order.
    if (prev !== undefined && !(prev < key) && !(key.charCodeAt(0) <= 57 && isIndex(key) && isIndex(prev))) return false;
    prev = key;
    if (!inCanonicalOrder((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

/** Array index keys, which JSON.stringify (of any object) lists first and in numeric order. */
const INDEX = /^(?:0|[1-9]\d*)$/;
const isIndex = (key: string) => INDEX.test(key) && Number(key) < 4294967295;
/** Keys as JSON strings: decisions and inputs use the same few dozen keys over and over. */
const quoted = new Map<string, string>();
function quote(key: string): string {
  let q = quoted.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quoted.size < 4096) quoted.set(key, q);
  }
  return q;
}

/** The sorted copy lists index keys first, in numeric order (they come first from Object.keys already), then the rest sorted. */
function order(keys: string[]): string[] {
  let split = 0;
  // Only a key starting with a digit can be an index.
  while (split < keys.length && (keys[split] as string).charCodeAt(0) <= 57 && isIndex(keys[split] as string)) split++;
  return split === 0 ? keys.sort() : [...keys.slice(0, split), ...keys.slice(split).sort()];
}

/**
 * Sorted key orders by the key order Object.keys gives, in a trie of keys (no joined signature that two shapes could
 * share): decisions and inputs have a few dozen shapes, and sorting each object's keys again was most of the cost of
 * canonicalising a decision (of writing a row and of replaying one). Cleared when it grows past SHAPE_NODES.
 */
interface Shape {
  next: Map<string, Shape>;
  sorted?: readonly string[];
}
const SHAPE_NODES = 8192;
let shapes: Shape = { next: new Map() };
let shapeNodes = 0;
function sortedKeys(keys: string[]): readonly string[] {
  if (keys.length < 2) return keys;
  let node = shapes;
  for (const key of keys) {
    let child = node.next.get(key);
    if (child === undefined) {
      if (shapeNodes >= SHAPE_NODES) {
        shapes = { next: new Map() };
        shapeNodes = 0;
        return order(keys);
      }
      child = { next: new Map() };
      node.next.set(key, child);
      shapeNodes++;
    }
    node = child;
  }
  return (node.sorted ??= order(keys));
}

/** The JSON of `value` as in the definition; undefined where JSON.stringify leaves a member out. */
function write(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      break;
    case "bigint":
      return JSON.stringify(value); // throws, as the definition does
    default:
      return undefined; // undefined, functions, symbols
  }
  if (value === null) return "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += i === 0 ? (write(value[i]) ?? "null") : `,${write(value[i]) ?? "null"}`;
    return `${out}]`;
  }
  // Like the copy, this reads own enumerable keys only: toJSON is not called.
  const rest = sortedKeys(Object.keys(value));
  let out = "{";
  let first = true;
  for (const key of rest) {
    const member = write((value as Record<string, unknown>)[key]);
    if (member === undefined) continue;
    out += first ? `${quote(key)}:${member}` : `,${quote(key)}:${member}`;
    first = false;
  }
  return `${out}}`;
}
