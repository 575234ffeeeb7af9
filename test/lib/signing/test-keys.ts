// Test key material made with the openssl CLI in a temporary directory (nothing committed, nothing secret).
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export interface TestKey {
  keyPem: string;
  certPem: string;
  chainPem: string[];
  dir: string;
  keyFile: string;
  certFile: string;
}

const made: string[] = [];

export function makeTestKey(cn = 'OS2 test signer', days = 2): TestKey {
  const dir = mkdtempSync(join(tmpdir(), 'os2-sign-'));
  made.push(dir);
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      String(days),
      '-subj',
      `/C=DK/O=OS2 test/CN=${cn}/serialNumber=CVR:12345678-UID:test`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
  return { keyPem: readFileSync(keyFile, 'utf8'), certPem: readFileSync(certFile, 'utf8'), chainPem: [], dir, keyFile, certFile };
}

export function writeTemp(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

export function removeTestKeys(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}
