/**
 * A throw-away PostgreSQL server for tests: Debian's postgresql binaries, initdb into a temp dir, listening on
 * 127.0.0.1 and a free port (plus a socket in the temp dir), run as the unprivileged `postgres` user when we are root.
 * Shared by all test files of one mocha process (reference counted); stopped when the last user releases it.
 *
 * `startPostgres()` resolves undefined (and the caller skips) when PostgreSQL is not installed — except with CI=true,
 * where it throws so nothing is silently skipped.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './net';

const run = promisify(execFile);

export interface PostgresServer {
  /** e.g. postgresql://postgres@127.0.0.1:54321/os2test */
  connectionString: string;
  release(): Promise<void>;
  /** Stops the server (an outage: every user of it loses it) and starts it again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

interface Running {
  dataDir: string;
  base: string;
  bin: string;
  port: number;
  durable: boolean;
  users: number;
}

function pgStart(r: Omit<Running, 'users'>) {
  return asPg(r.bin, 'pg_ctl', [
    '-D',
    r.dataDir,
    '-l',
    path.join(r.base, 'log'),
    '-w',
    '-t',
    '60',
    '-o',
    `-k ${r.base} -p ${r.port} -h 127.0.0.1 ${r.durable ? '' : '-c fsync=off '}-c max_connections=100`,
    'start',
  ]);
}

let running: Promise<Running> | undefined;

function findBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(root, versions[0]!, 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  return which.status === 0 ? path.dirname(which.stdout.trim()) : undefined;
}

/** Runs a PostgreSQL binary as `postgres` when we are root (initdb/postgres refuse root). */
function asPg(bin: string, file: string, args: string[]) {
  const isRoot = process.getuid?.() === 0;
  return isRoot ? run('runuser', ['-u', 'postgres', '--', path.join(bin, file), ...args]) : run(path.join(bin, file), args);
}

async function boot(durable: boolean): Promise<Running> {
  const bin = findBin();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)');
  const base = mkdtempSync(path.join(os.tmpdir(), 'os2-pg-'));
  const dataDir = path.join(base, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('There is no unprivileged "postgres" user to run PostgreSQL as');
    chownSync(base, uid, gid);
  }
  await asPg(bin, 'initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  const port = await freePort();
  await pgStart({ dataDir, base, bin, port, durable });
  await asPg(bin, 'createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'os2test']);
  return { dataDir, base, bin, port, durable, users: 0 };
}

/** Starts (or joins) the test server. Undefined = not available here (skip); with CI=true that is an error. */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer | undefined> {
  // Tests run with fsync=off (speed); `durable` (benchmarks) keeps PostgreSQL's default fsync=on. Only the first caller decides.
  running ??= boot(options.durable ?? false);
  let r: Running;
  try {
    r = await running;
  } catch (err) {
    running = undefined;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL test server could not start: ${(err as Error).message}`);
    console.warn(`  (skipping PostgreSQL tests: ${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
  r.users++;
  let released = false;
  return {
    connectionString: `postgresql://postgres@127.0.0.1:${r.port}/os2test`,
    stop: () => asPg(r.bin, 'pg_ctl', ['-D', r.dataDir, '-m', 'fast', '-w', 'stop']).then(() => undefined),
    start: () => pgStart(r).then(() => undefined),
    async release() {
      if (released) return;
      released = true;
      if (--r.users > 0) return;
      running = undefined;
      await asPg(r.bin, 'pg_ctl', ['-D', r.dataDir, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
      rmSync(r.base, { recursive: true, force: true });
    },
  };
}
