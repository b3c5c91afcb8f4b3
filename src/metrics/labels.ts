// Bounded label values: a label takes at most `max` distinct values per process, the rest are "other".

/** What a label value becomes once the cap is reached, or when the name is not one we know. */
export const OTHER = 'other';

/** Longer names are folded into "other" too: a label value is an index key, not a place for data. */
const MAX_LENGTH = 128;

/**
 * The first `max` distinct names seen keep their own value; every later one is "other". Callers
 * pass only names the policy or an upstream's listing defined (never a client's raw input), so the
 * cap is a second fence: an upstream listing thousands of tools still cannot blow up a scrape.
 */
export class LabelCap {
  private readonly seen = new Set<string>();

  constructor(private readonly max: number) {}

  label(name: string): string {
    if (this.seen.has(name)) return name;
    if (name.length === 0 || name.length > MAX_LENGTH || this.seen.size >= this.max) return OTHER;
    this.seen.add(name);
    return name;
  }

  get size(): number {
    return this.seen.size;
  }
}
