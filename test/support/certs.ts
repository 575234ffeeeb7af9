/**
 * Test certificates, made once per test process with the openssl CLI (see simulator/certs.ts)
 * into a temporary directory that is removed when the process exits.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCerts, type SimulatorCerts } from '../../simulator/certs';

export type { SimulatorCerts, CertFiles } from '../../simulator/certs';
export { TEST_CLIENT_CVR, TEST_P12_PASSPHRASE, cvrFromSubject } from '../../simulator/certs';

let cached: Promise<SimulatorCerts> | undefined;
let tmpDir: string | undefined;

/** The process-wide set of test certificates (CA, server, client, other CA + client, P12s). */
export function testCerts(): Promise<SimulatorCerts> {
  if (!cached) {
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-fordeling-certs-'));
    const dir = tmpDir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    cached = generateCerts(dir);
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
