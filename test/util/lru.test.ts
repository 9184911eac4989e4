import { describe, expect, it } from "vitest";
import { Lru } from "../../src/util/lru.js";

describe("Lru", () => {
  it("forgets the least recently used entry once it is over its size", () => {
    const lru = new Lru<string, number>(2);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.get("a");
    lru.set("c", 3);
    expect([lru.get("a"), lru.get("b"), lru.get("c"), lru.size]).toEqual([1, undefined, 3, 2]);
  });

  it("makes an absent entry once and keeps it", () => {
    const lru = new Lru<string, number>(4);
    let made = 0;
    const make = () => ++made;
    expect([lru.getOrSet("k", make), lru.getOrSet("k", make), made]).toEqual([1, 1, 1]);
  });

  it("keeps a falsy value as a value, not as absence", () => {
    const lru = new Lru<string, number | null>(2);
    lru.set("zero", 0);
    lru.set("none", null);
    expect([lru.get("zero"), lru.get("none")]).toEqual([0, null]);
  });

  it("refuses a size below one", () => {
    expect(() => new Lru(0)).toThrow(RangeError);
  });
});
