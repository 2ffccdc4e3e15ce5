// deploy/: the systemd unit is checked by systemd itself (`systemd-analyze verify`, and
// `systemd-analyze security --offline` for its hardening), its ExecStart uses only flags
// `tally node` has, and the Dockerfile builds and runs when a Docker daemon is reachable
// (the test says so and skips when none is).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../src/cli/main.js';
import { cleanup, ROOT, tempDir } from './helpers.js';

const UNIT = path.join(ROOT, 'deploy', 'tally.service');
const DOCKERFILE = path.join(ROOT, 'deploy', 'Dockerfile');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const IMAGE = 'tally-deploy-test:latest';

interface Run { code: number; stdout: string; stderr: string }

function run(cmd: string, args: string[], timeoutMs: number, cwd = ROOT): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout, stderr: stderr || (e && typeof e.code !== 'number' ? e.message : '') });
    });
  });
}

const unitText = fs.readFileSync(UNIT, 'utf8');
const execStart = /^ExecStart=(.*)$/m.exec(unitText)![1]!.split(/\s+/);

/**
 * A copy of the unit whose ExecStart runs this machine's node on this checkout's
 * bin/tally.js. `systemd-analyze verify` refuses a unit whose command does not exist
 * ("Command ... is not executable"), and the shipped unit names the installed paths
 * (/usr/bin/node, /opt/tally), which a build machine need not have. Everything else is
 * the shipped text, unchanged.
 */
function localCopy(edit: (text: string) => string = (t) => t): string {
  const dir = tempDir('tally-unit-');
  const file = path.join(dir, 'tally.service'); // the name is the unit's name: keep it
  const local = [process.execPath, path.join(ROOT, 'bin', 'tally.js'), ...execStart.slice(2)].join(' ');
  fs.writeFileSync(file, edit(unitText.replace(/^ExecStart=.*$/m, `ExecStart=${local}`)));
  return file;
}

describe('deploy/tally.service', { timeout: 120_000 }, () => {
  after(cleanup);
  const haveSystemd = fs.existsSync(SYSTEMD_ANALYZE);

  it('passes systemd-analyze verify with nothing to say', { skip: !haveSystemd && `no ${SYSTEMD_ANALYZE} on this machine` }, async () => {
    const r = await run(SYSTEMD_ANALYZE, ['verify', localCopy()], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze printed warnings');
  });

  it('the check is real: systemd-analyze flags a broken copy', { skip: !haveSystemd && `no ${SYSTEMD_ANALYZE}` }, async () => {
    const typo = await run(SYSTEMD_ANALYZE, ['verify', localCopy((t) => t.replace('ProtectSystem=strict', 'ProtectSystem=stric'))], 60_000);
    assert.match(typo.stderr, /protect system value/i);
    const missing = await run(SYSTEMD_ANALYZE, ['verify', localCopy((t) => t.replace(/^ExecStart=\S+/m, 'ExecStart=/nonexistent/node'))], 60_000);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not executable/);
  });

  it('is hardened: the options asked for, and systemd rates its exposure OK (<= 2.5)', { skip: !haveSystemd && `no ${SYSTEMD_ANALYZE}` }, async () => {
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'StateDirectory=tally', 'User=tally', 'Restart=on-failure']) {
      assert.match(unitText, new RegExp(`^${line}$`, 'm'), `the unit lacks ${line}`);
    }
    assert.match(unitText, /\b70\b.*HALTED/, 'the unit explains exit code 70');
    // --threshold is on systemd's 0-100 scale (it prints tenths: 2.5 is 25).
    const r = await run(SYSTEMD_ANALYZE, ['security', '--offline=yes', '--threshold=25', localCopy()], 60_000);
    assert.equal(r.code, 0, r.stdout.split('\n').slice(-3).join('\n') + r.stderr);
    assert.match(r.stdout, /Overall exposure level for tally\.service: [0-2]\.\d OK/);
  });

  it('ExecStart runs `tally node` with flags that command has, on the StateDirectory', () => {
    assert.equal(execStart[2], 'node');
    const node = buildProgram().commands.find((c) => c.name() === 'node')!;
    const known = new Set(node.options.map((o) => o.long));
    const used = execStart.filter((a) => a.startsWith('--'));
    assert.ok(used.length > 0);
    for (const flag of used) assert.ok(known.has(flag), `tally node has no ${flag}`);
    assert.equal(execStart[execStart.indexOf('--data') + 1], '/var/lib/tally');
    assert.match(execStart[execStart.indexOf('--internal') + 1]!, /^127\.0\.0\.1:/);
  });
});

describe('deploy/tally-backup.service and .timer', { timeout: 120_000 }, () => {
  after(cleanup);
  const service = path.join(ROOT, 'deploy', 'tally-backup.service');
  const timer = path.join(ROOT, 'deploy', 'tally-backup.timer');

  it('pass systemd-analyze verify as shipped (their commands are /bin/sh and find)', { skip: !fs.existsSync(SYSTEMD_ANALYZE) && `no ${SYSTEMD_ANALYZE}` }, async () => {
    const r = await run(SYSTEMD_ANALYZE, ['verify', service, timer], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze printed warnings');
    const sec = await run(SYSTEMD_ANALYZE, ['security', '--offline=yes', '--threshold=25', service], 60_000);
    assert.equal(sec.code, 0, sec.stdout.split('\n').slice(-3).join('\n') + sec.stderr);
  });

  it('its command, with systemd\'s escapes undone, backs up a data directory', async () => {
    const line = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(fs.readFileSync(service, 'utf8'))![1]!;
    const dir = tempDir('tally-bkunit-');
    const data = path.join(dir, 'data');
    const outDir = path.join(dir, 'backups');
    fs.mkdirSync(outDir);
    const init = await run(process.execPath, [path.join(ROOT, 'bin', 'tally.js'), 'init', '--data', data, '--json'], 60_000);
    assert.equal(init.code, 0, init.stderr);
    const command = line.replace(/\$\$/g, '$').replace(/%%/g, '%')
      .replace('/usr/bin/node /opt/tally/bin/tally.js', `${process.execPath} ${path.join(ROOT, 'bin', 'tally.js')}`)
      .replace('/var/lib/tally', data).replace('/var/backups/tally', outDir);
    const r = await run('/bin/sh', ['-c', command], 60_000);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(r.stdout) as { out: string; height: number };
    assert.match(path.basename(result.out), /^tally-\d{8}T\d{6}Z\.db$/);
    assert.equal(result.height, 0);
    assert.deepEqual(fs.readdirSync(outDir), [path.basename(result.out)]);
  });
});

describe('deploy/Dockerfile', { timeout: 1_800_000 }, () => {
  const text = fs.readFileSync(DOCKERFILE, 'utf8');

  it('is multi-stage, installs from the lock file, runs as a non-root user with /data as a volume', () => {
    assert.ok((text.match(/^FROM /gm) ?? []).length >= 2, 'multi-stage');
    assert.match(text, /^RUN npm ci\b/m);
    assert.match(text, /^COPY package\.json package-lock\.json/m);
    const user = /^USER (\S+)/m.exec(text)?.[1];
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `USER ${user}`);
    assert.match(text, /^VOLUME \["\/data"\]/m);
    assert.match(text, /^HEALTHCHECK .*\n?.*127\.0\.0\.1:7701\/health/m);
    // The last stage runs as that user: no USER root after it.
    assert.ok(text.lastIndexOf('USER ') > text.lastIndexOf('FROM '));
  });

  it('builds, and the image runs tally as a non-root user', async (t) => {
    const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], 20_000);
    if (info.code !== 0) {
      const why = (info.stderr.trim().split('\n').find((l) => l.trim() !== '') ?? `docker info exited ${info.code}`).trim();
      t.skip(`no Docker daemon: ${why}`);
      return;
    }
    const build = await run('docker', ['build', '-f', DOCKERFILE, '-t', IMAGE, '.'], 1_500_000);
    assert.equal(build.code, 0, build.stderr.slice(-4000));
    try {
      const version = await run('docker', ['run', '--rm', IMAGE, '--version'], 60_000);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /^\d+\.\d+\.\d+/);
      const id = await run('docker', ['run', '--rm', '--entrypoint', 'id', IMAGE, '-u'], 60_000);
      assert.notEqual(id.stdout.trim(), '0');
    } finally {
      await run('docker', ['image', 'rm', '-f', IMAGE], 60_000);
    }
  });
});
