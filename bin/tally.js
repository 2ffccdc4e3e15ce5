#!/usr/bin/env node
// Entry point of the `tally` command; the code lives in dist/, built by `npm ci` (the
// "prepare" script) or `npm run build`.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  process.stderr.write(`error: Tally needs Node.js 20.19 or newer; this is ${process.version} (node_too_old)\n`);
  process.exit(1);
}
// `tally … | head`: the reader closed the pipe. Stop quietly with the status a process
// that SIGPIPE stopped has, as Unix tools do, instead of an unhandled EPIPE stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(141);
  throw err;
});
try {
  const { main } = await import('../dist/src/cli/main.js');
  await main(process.argv);
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('error: Tally is not built yet (not_built)\nhint: run `npm ci` or `npm run build` in the project directory\n');
    process.exit(1);
  }
  throw err;
}
