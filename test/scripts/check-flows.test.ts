import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const script = path.resolve(__dirname, '..', '..', 'scripts', 'check-flows.js');
const run = (...files: string[]) => spawnSync(process.execPath, [script, ...files], { encoding: 'utf8' });

describe('npm run check:flows', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'check-flows-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, flow: unknown) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(flow));
    return f;
  };

  it('passes every flow file shipped in flows/ and examples/', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
  });

  it('accepts ${ENV} references and refuses credentials, private keys, secrets and unknown types', () => {
    const ok = write('ok.json', [
      { id: 'a', type: 'os2-webform-in', url: '${OS2_URL}' },
      { id: 'b', type: 'debug' },
    ]);
    assert.equal(run(ok).status, 0, run(ok).stderr);
    const bad = write('bad.json', [
      { id: 'c', type: 'os2-certificate', credentials: { passphrase: 'hunter2' } },
      { id: 'd', type: 'function', func: '-----BEGIN PRIVATE KEY-----\nabc' },
      { id: 'e', type: 'os2-webform-in', sharedSecret: 'plain' },
      { id: 'f', type: 'no-such-node' },
      { id: 'f', type: 'debug' },
    ]);
    const r = run(bad);
    assert.equal(r.status, 1);
    for (const needle of [
      'node c (os2-certificate) carries credentials',
      'node d (function) holds a private key',
      'holds a secret in "sharedSecret"',
      'unknown type "no-such-node"',
      'duplicate node id f',
    ]) {
      assert.ok(r.stderr.includes(needle), `expected "${needle}" in:\n${r.stderr}`);
    }
  });
});
