// How many audit rows a reader asks for at once: as many as fit in a byte budget, learned from the rows read so far.
// A fixed 1,000 rows a page held 10 MB and more in memory once rows carried real inputs (a PR of 60 files is about
// 10 KB a row; GitHub allows 3,000 files), which ran `audit export` out of a small heap.

/** Text held by one page, about; each row is held twice while a page is hydrated or parsed. */
const PAGE_BYTES = 2 * 2 ** 20;
/** Rows the first page asks for, before any row's size is known. */
const FIRST_PAGE = 64;

export class PageSize {
  private size: number;

  constructor(private readonly max: number) {
    this.size = Math.min(FIRST_PAGE, max);
  }

  /** Rows to ask for next, never more than `left`. */
  next(left = Number.POSITIVE_INFINITY): number {
    return Math.max(1, Math.min(this.size, left));
  }

  /** After a page: the next holds about PAGE_BYTES, at the size of the rows just read. */
  saw(rows: ReadonlyArray<{ decision: string; input: string | null }>): void {
    if (rows.length === 0) return;
    let bytes = 0;
    for (const row of rows) bytes += row.decision.length + (row.input?.length ?? 0);
    this.size = Math.max(1, Math.min(this.max, Math.floor(PAGE_BYTES / Math.max(1, bytes / rows.length))));
  }
}
