// Palette install: the packed tarball installs into a fresh Node-RED user directory, every node type of
// package.json's "node-red".nodes registers without error, and the examples are listed. Slow (build, pack, npm install).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { RedProcess } from '../support/node-red';

const run = promisify(execFile);
const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  name: string;
  'node-red': { nodes: Record<string, string> };
};
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

async function sh(cmd: string, args: string[], cwd: string, what: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'error' } });
    return stdout;
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`${what} failed: ${e.message}\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
  }
}

/** The Admin API gives `err` as a string or as a serialised Error (code, sometimes message). */
function describeErr(err: NonNullable<NodeSet['err']>): string {
  if (typeof err === 'string') return err;
  const text = [err.code, err.message].filter(Boolean).join(': ');
  return text || JSON.stringify(err);
}

interface NodeSet {
  id: string;
  name: string;
  module: string;
  types: string[];
  enabled: boolean;
  err?: string | { message?: string; code?: string };
}

describe('palette install of the packed package', function () {
  // npm install compiles the ledger's engine (better-sqlite3) where no prebuilt binary can be downloaded: minutes.
  this.timeout(600_000);
  let tmp: string;
  let userDir: string;
  let red: RedProcess | undefined;
  let base = '';

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-palette-'));
    userDir = path.join(tmp, 'userDir');
    fs.mkdirSync(userDir);

    await sh(npm, ['run', 'build'], root, 'npm run build');
    const packed = await sh(npm, ['pack', '--json', '--pack-destination', tmp], root, 'npm pack');
    const tarball = path.join(tmp, (JSON.parse(packed) as { filename: string }[])[0]!.filename);
    assert.ok(fs.existsSync(tarball), `npm pack wrote ${tarball}`);

    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, version: '0.0.0' }));
    // Build native modules for the Node running this test (CI runs the suite on Node 22 too), from its own headers.
    const nodeDir = path.resolve(path.dirname(process.execPath), '..');
    const headers = fs.existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h')) ? [`--nodedir=${nodeDir}`] : [];
    await sh(npm, ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--omit=dev', ...headers], userDir, 'npm install <tarball>');

    // This repository's Node-RED (devDependency), not a global one, with the package from the user directory only.
    red = new RedProcess({ userDir, flows: [], credentials: {}, nodesDir: [] });
    await red.start(90_000);
    base = red.url;
  });

  after(async function () {
    await red?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('registers every node type of package.json without error', async function () {
    const res = await fetch(`${base}/nodes`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200);
    const sets = ((await res.json()) as NodeSet[]).filter((s) => s.module === pkg.name);
    const problems: string[] = [];
    for (const type of Object.keys(pkg['node-red'].nodes)) {
      const set = sets.find((s) => s.name === type);
      if (!set) problems.push(`${type}: not registered (no node set "${pkg.name}/${type}")`);
      else if (set.err) problems.push(`${type}: ${describeErr(set.err)} (${pkg['node-red'].nodes[type]})`);
      else if (!set.types.includes(type)) problems.push(`${type}: set loaded but registers [${set.types.join(', ')}]`);
      else if (!set.enabled) problems.push(`${type}: disabled`);
    }
    assert.deepEqual(problems, [], `node sets with problems:\n  ${problems.join('\n  ')}`);
  });

  it('lists the examples under Import ▸ Examples', async function () {
    const res = await fetch(`${base}/library/examples/flows/${pkg.name}`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 200, `GET /library/examples/flows/${pkg.name}`);
    const listed = ((await res.json()) as { fn?: string }[]).map((e) => e.fn);
    const expected = fs
      .readdirSync(path.join(root, 'examples'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    assert.ok(expected.includes('01 - Receive OS2forms submissions'));
    for (const fn of expected) assert.ok(listed.includes(fn), `example "${fn}" listed (got ${JSON.stringify(listed)})`);
  });

  it('runs the example flow: webform in answers 202 for an authenticated submission, 401 otherwise', async function () {
    const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', '01 - Receive OS2forms submissions.json'), 'utf8')) as Record<string, unknown>[];
    const tab = { id: 'palette-tab', type: 'tab', label: 'example' };
    const flows = [tab, ...example.map((n) => ({ ...n, z: tab.id, ...(n.type === 'os2-webform-in' ? { credentials: { secret: 'palette-secret' } } : {}) }))];
    const deploy = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify({ flows }),
    });
    assert.equal(deploy.status, 200, await deploy.text());
    const body = JSON.stringify({ uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f', webform_id: 'test', navn: 'Åse' });
    const post = (secret: string) =>
      fetch(`${base}/os2forms/submission`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webform-secret': secret }, body });
    let ok = await post('palette-secret');
    for (let i = 0; ok.status === 404 && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 100)); // flows start right after the deploy answer
      ok = await post('palette-secret');
    }
    assert.equal(ok.status, 202);
    assert.deepEqual(await ok.json(), { uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f', state: 'completed', outcome: 'passed on' });
    const refused = await post('wrong');
    assert.equal(refused.status, 401);
    const stored = await (await fetch(`${base}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } })).text();
    assert.ok(!stored.includes('palette-secret'), 'the secret is not returned with the flows');
  });
});
