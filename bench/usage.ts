// `--help` or `-h` on a benchmark script prints the script's header comment (what it
// measures and how to run it) and exits, rather than starting a run that takes minutes.
// Call it first thing in a script, never in a module the CLI imports (`tally bench
// markets --help` would exit there). cpuProfArgs is safe anywhere.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function helpFromHeader(moduleUrl: string): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  const lines: string[] = [];
  for (const line of fs.readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n')) {
    if (!line.startsWith('//')) break;
    lines.push(line.replace(/^\/\/ ?/, ''));
  }
  process.stdout.write(lines.join('\n').trim() + '\n');
  process.exit(0);
}

/**
 * Node's own flags that make a child node write a CPU profile into dir when it stops
 * (none without a dir). They go on the child's command line: node refuses --cpu-prof in
 * NODE_OPTIONS.
 */
export function cpuProfArgs(dir: string | undefined): string[] {
  return dir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.resolve(dir)];
}

/** The integer after `name` on the command line (fallback when absent), from 1 to max, or a clear error. */
export function intFlag(name: string, fallback: number, max: number): number {
  const at = process.argv.indexOf(name);
  if (at < 0) return fallback;
  const n = Number(process.argv[at + 1]);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return n;
}
