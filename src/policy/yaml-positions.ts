// Maps each value of a YAML document to where it is written, so that schema errors can point at file:line:column.
import { EVENT_ID, type Event, getScalarValue } from "js-yaml";

/** Zero-based offsets into the source text; -1 when the value has no text of its own (e.g. `key:` with nothing after). */
export interface NodePosition {
  key: number;
  value: number;
}

export type PathKey = string | number;

export function pathId(path: readonly PathKey[]): string {
  return JSON.stringify(path);
}

interface Frame {
  kind: "mapping" | "sequence";
  path: PathKey[];
  index: number;
  pendingKey: { name: string; offset: number } | null;
}

/** Builds path -> position for every node of the first document of `events`. */
export function positionsOf(source: string, events: readonly Event[]): Map<string, NodePosition> {
  const positions = new Map<string, NodePosition>();
  const stack: Frame[] = [];

  // Decides the path of the node that starts now, or records it as a mapping key.
  const place = (offset: number, keyText: string | null): PathKey[] | null => {
    const top = stack[stack.length - 1];
    if (!top) {
      positions.set(pathId([]), { key: -1, value: offset });
      return [];
    }
    if (top.kind === "sequence") {
      const path = [...top.path, top.index++];
      positions.set(pathId(path), { key: -1, value: offset });
      return path;
    }
    if (top.pendingKey === null) {
      // A mapping key: only scalar keys have a name we can point at; complex keys are rare and rejected by the schema anyway.
      top.pendingKey = { name: keyText ?? `#${top.index}`, offset };
      return null;
    }
    const path = [...top.path, top.pendingKey.name];
    positions.set(pathId(path), { key: top.pendingKey.offset, value: offset });
    top.pendingKey = null;
    top.index++;
    return path;
  };

  for (const event of events) {
    switch (event.type) {
      case EVENT_ID.DOCUMENT:
        if (stack.length === 0 && positions.size > 0) return positions; // only the first document matters
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const path = place(event.start, null) ?? [];
        stack.push({ kind: event.type === EVENT_ID.MAPPING ? "mapping" : "sequence", path, index: 0, pendingKey: null });
        break;
      }
      case EVENT_ID.SCALAR: {
        const text = event.valueStart >= 0 ? getScalarValue(source, event) : "";
        place(event.valueStart, text);
        break;
      }
      case EVENT_ID.ALIAS:
        place(event.anchorStart, null);
        break;
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return positions;
}

/** 1-based line and column of a zero-based offset. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  if (offset < 0) return { line: 1, column: 1 };
  let line = 1;
  let lineStart = 0;
  for (let i = source.indexOf("\n"); i !== -1 && i < offset; i = source.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}
