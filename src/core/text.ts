// Plain-text rendering shared by the CLI and the modules' commands.

/** Two aligned columns: a label, then its value ("-" for null or undefined). */
export function table(rows: Array<[string, unknown]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n');
}

/** `user:password@` in any URL in the text becomes `[redacted]@`: for logs and health reasons built from errors. */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\/\/[^/@\s:]+:[^/@\s]*@/g, '//[redacted]@');
}
