/** The ledger check's comparison of one kind of record: expected keys against found keys. */

/** One kind of record, compared: each list names what is missing, extra or there too often. */
export interface Section {
  readonly expected: number;
  /** Records of the run's customers found. */
  readonly found: number;
  /** Expected records found exactly once. */
  readonly matched: number;
  readonly missing: readonly string[];
  /** Expected once, found more often (the same output twice breaks exactly-once). */
  readonly duplicated: readonly string[];
  /** Found, not expected: an output that contradicts the ledger. */
  readonly unexpected: readonly string[];
  /** Copies beyond the expected ones that a Plaid re-delivery explains (see `plaidRedeliveries`). */
  readonly allowedRepeats: number;
}

/**
 * Compares expected keys with found keys (a key may be expected more than once): what is
 * missing, found too often, or not expected at all. `allow` is asked whether a key found `extra`
 * times more often than expected may be (`allowedRepeats` counts those it allowed).
 */
export function compareKeys(
  expected: readonly { key: string; label: string }[],
  found: readonly { key: string; label: string }[],
  allow: (key: string, extra: number) => boolean = () => false,
): Section {
  const want = new Map<string, { label: string; n: number }>();
  for (const e of expected) {
    const w = want.get(e.key);
    if (w) w.n++;
    else want.set(e.key, { label: e.label, n: 1 });
  }
  const got = new Map<string, { label: string; n: number }>();
  for (const f of found) {
    const g = got.get(f.key);
    if (g) g.n++;
    else got.set(f.key, { label: f.label, n: 1 });
  }
  const missing: string[] = [];
  const duplicated: string[] = [];
  const unexpected: string[] = [];
  let matched = 0;
  let allowedRepeats = 0;
  for (const [key, w] of want) {
    const n = got.get(key)?.n ?? 0;
    matched += Math.min(n, w.n);
    if (n < w.n) missing.push(w.n - n > 1 ? `${w.label} (×${w.n - n})` : w.label);
    const extra = Math.max(0, n - w.n);
    if (extra === 0) continue;
    if (allow(key, extra)) allowedRepeats += extra;
    else duplicated.push(`${w.label} (×${n})`);
  }
  for (const [key, g] of got) {
    if (!want.has(key)) unexpected.push(g.n > 1 ? `${g.label} (×${g.n})` : g.label);
  }
  return {
    expected: expected.length,
    found: found.length,
    matched,
    missing,
    duplicated,
    unexpected,
    allowedRepeats,
  };
}
