// Shared by tests and the consensus simulator: the code of the TallyError a call throws,
// and a seeded random source.

/** The `code` of what fn() throws, or "no error". */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'no error';
}

/** A small, fast, seeded generator (mulberry32) in [0, 1): reproducibility, not secrecy. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
