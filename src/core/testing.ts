// Shared by unit tests: the code of the TallyError a call throws.

/** The `code` of what fn() throws, or "no error". */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'no error';
}
