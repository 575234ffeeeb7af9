import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs, startFromCli } from '../../simulator/cli';

describe('simulator cli', function () {
  this.timeout(30_000);

  it('parses options and environment', () => {
    const o = parseArgs(['--port', '0', '--receipt-url', 'http://127.0.0.1:1880/k', '--no-validate', '--json'], { SF2900_SIM_RECEIPT_USER: 'sp' });
    assert.strictEqual(o.port, 0);
    assert.strictEqual(o.receiptUrl, 'http://127.0.0.1:1880/k');
    assert.strictEqual(o.receiptUser, 'sp');
    assert.strictEqual(o.validate, false);
    assert.strictEqual(o.json, true);
    assert.strictEqual(parseArgs([], {}).port, 8443);
    assert.throws(() => parseArgs(['--port', 'x'], {}), /Port "NaN"/);
    assert.throws(() => parseArgs(['--bogus'], {}), /Unknown option --bogus/);
  });

  it('says clearly where it looked when the contract is missing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-cli-'));
    try {
      const o = parseArgs(['--port', '0', '--cert-dir', dir, '--contract-dir', path.join(os.tmpdir(), 'no-such-contract')], {});
      await assert.rejects(
        startFromCli(
          o,
          () => undefined,
          () => undefined,
        ),
        /SF2900 contract was not found at .*no-such-contract.*DistributionServiceMsg\.xsd/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts with certificates in the cert dir, prints URL and paths as JSON, and reuses them next time', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-cli-'));
    const lines: string[] = [];
    try {
      const o = parseArgs(['--port', '0', '--cert-dir', dir, '--json'], { SF2900_CONTRACT_DIR: process.env.SF2900_CONTRACT_DIR });
      const events: string[] = [];
      const sim = await startFromCli(
        o,
        (l) => lines.push(l),
        (l) => events.push(l),
      );
      await sim.close();
      const info = JSON.parse(lines[0]);
      assert.match(info.url, /^https:\/\/127\.0\.0\.1:\d+\/service\/SP\/Distribution\/3$/);
      assert.ok(fs.existsSync(info.ca) && fs.existsSync(info.clientP12));
      assert.strictEqual(info.cvr, '12345678');
      const before = fs.readFileSync(info.clientCert, 'utf8');
      const again = await startFromCli(
        o,
        (l) => lines.push(l),
        (l) => events.push(l),
      );
      assert.ok(
        events.some((l) => /sim: listening on https:/.test(l)),
        'events go to the event printer, not stdout',
      );
      assert.strictEqual(lines.length, 2, 'stdout carries only the JSON lines');
      await again.close();
      assert.strictEqual(fs.readFileSync(info.clientCert, 'utf8'), before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
