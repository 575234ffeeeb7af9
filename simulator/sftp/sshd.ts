/**
 * A real OpenSSH sshd on 127.0.0.1 (free port) serving a temporary directory over SFTP, for tests (test/support/sshd.ts),
 * benchmarks and the simulator. Nothing listens on port 22 and no system daemon is involved.
 *
 * The sshd binary is found at $SSHD_PATH, /usr/sbin/sshd or .sshd/root/usr/sbin/sshd (scripts/sshd-fetch.sh unpacks
 * Debian's openssh-server there). When none is found, `findSshd()` returns undefined: tests then skip and say so,
 * except with CI=true, where `startSshd()` throws.
 *
 * sshd runs unprivileged: as the current user, or — when we are root — via setpriv as a namespace-local account
 * (or `daemon` where mount namespaces are not allowed); sshd refuses to run as root without its
 * privilege-separation user and /run/sshd, which we do not create.
 * Only that user can log in; it authenticates with a generated key pair.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { createHash, generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

export interface SshdHandle {
  host: string;
  port: number;
  username: string;
  privateKeyPem: string;
  /** The host key's fingerprint as OpenSSH prints it: `SHA256:<base64 without padding>`. */
  hostKeyFingerprint: string;
  /** The local directory served (the SFTP start directory). */
  root: string;
  /** Local paths of OUT and IN inside root. */
  outDir: string;
  inDir: string;
  /** How many sshd session processes are alive (0 when no client is connected). */
  sessionCount(): number;
  /** SIGKILLs every per-connection sshd child (drops all open sessions); the listener keeps running. */
  dropConnections(): number;
  stop(): Promise<void>;
}

/** The package root (where .sshd/ lives), also when running from dist/. */
const REPO = ((): string => {
  for (let d = __dirname; d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'scripts', 'sshd-fetch.sh'))) return d;
  }
  return process.cwd();
})();

/** Absolute path of an sshd binary, or undefined. */
export function findSshd(): string | undefined {
  const candidates = [process.env.SSHD_PATH, '/usr/sbin/sshd', path.join(REPO, '.sshd', 'root', 'usr', 'sbin', 'sshd')];
  for (const c of candidates) {
    if (c && fs.existsSync(c)) return path.resolve(c);
  }
  return undefined;
}

/** The reason SFTP tests are skipped, or undefined when an sshd is available. Throws in CI when none is. */
export function sshdUnavailableReason(): string | undefined {
  if (findSshd()) return undefined;
  const reason = 'no OpenSSH sshd found (looked at $SSHD_PATH, /usr/sbin/sshd, .sshd/); run scripts/sshd-fetch.sh';
  if (process.env.CI === 'true') throw new Error(`SFTP tests cannot run in CI: ${reason}`);
  return reason;
}

function sshString(b: Buffer | string): Buffer {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
}

function mpint(b64url: string): Buffer {
  let data = Buffer.from(b64url, 'base64url');
  if (data[0] & 0x80) data = Buffer.concat([Buffer.from([0]), data]);
  return sshString(data);
}

/** An RSA key pair: PKCS#1 PEM private key (read by both sshd and ssh2) and the OpenSSH public key line. */
function rsaKeyPair(): { privatePem: string; publicLine: string; blob: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' }) as { n: string; e: string };
  const blob = Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e), mpint(jwk.n)]);
  return {
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicLine: `ssh-rsa ${blob.toString('base64')} test`,
    blob,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
  username: string;
  /** Run in a private mount namespace with a bind-mounted passwd/shadow (root with CAP_SYS_ADMIN). */
  namespace: boolean;
}

function account(name: string): { uid: number; gid: number } | undefined {
  const r = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  const f = (r.stdout ?? '').trim().split(':');
  return r.status === 0 && f.length >= 7 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

function runAs(): RunAs {
  const uid = process.getuid ? process.getuid() : 0;
  if (uid !== 0) return { uid, gid: process.getgid ? process.getgid() : 0, username: os.userInfo().username, namespace: false };
  // As root, preferably: a namespace-local account `os2sftp` with nobody's ids (see spawnAsRootInNamespace).
  const nobody = account('nobody');
  const canUnshare = process.env.OS2_SSHD_NO_NAMESPACE !== '1' && spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0;
  if (nobody && canUnshare) return { ...nobody, username: 'os2sftp', namespace: true };
  // Without mount namespaces (e.g. a container without CAP_SYS_ADMIN): the system account `daemon`, which OpenSSH
  // accepts here (it refuses `nobody` as "account is locked").
  const daemon = account('daemon');
  if (daemon) return { ...daemon, username: 'daemon', namespace: false };
  throw new Error('no unprivileged account to run sshd as (tried a namespace-local os2sftp and daemon)');
}

export async function startSshd(): Promise<SshdHandle> {
  const sshd = findSshd();
  if (!sshd) throw new Error(sshdUnavailableReason() ?? 'no sshd');
  const user = runAs();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-sshd-'));
  fs.chmodSync(base, 0o755);
  const etc = path.join(base, 'etc');
  const root = path.join(base, 'root');
  const outDir = path.join(root, 'OUT');
  const inDir = path.join(root, 'IN');
  for (const d of [etc, root, outDir, inDir]) fs.mkdirSync(d, { recursive: true });

  const hostKey = rsaKeyPair();
  const userKey = rsaKeyPair();
  const hostKeyPath = path.join(etc, 'host_rsa_key');
  fs.writeFileSync(hostKeyPath, hostKey.privatePem, { mode: 0o600 });
  fs.writeFileSync(`${hostKeyPath}.pub`, hostKey.publicLine + '\n');
  const authorized = path.join(etc, 'authorized_keys');
  fs.writeFileSync(authorized, userKey.publicLine + '\n', { mode: 0o600 });

  const port = await freePort();
  const config = [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${hostKeyPath}`,
    `PidFile ${path.join(etc, 'sshd.pid')}`,
    `AuthorizedKeysFile ${authorized}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin no',
    `AllowUsers ${user.username}`,
    'Subsystem sftp internal-sftp',
    `ForceCommand internal-sftp -d ${root}`,
    'MaxStartups 100:30:200',
    'LogLevel INFO',
  ].join('\n');
  const configPath = path.join(etc, 'sshd_config');
  fs.writeFileSync(configPath, config + '\n');
  if (user.uid !== (process.getuid ? process.getuid() : 0)) {
    for (const p of [base, etc, root, outDir, inDir, hostKeyPath, `${hostKeyPath}.pub`, authorized, configPath]) {
      fs.chownSync(p, user.uid, user.gid);
    }
  }
  // The tests (and the watcher) run as us and write into IN; the SFTP user must be able to rename/delete there.
  for (const d of [outDir, inDir]) fs.chmodSync(d, 0o777);

  const libDirs = [
    path.join(path.dirname(path.dirname(sshd)), 'lib', 'x86_64-linux-gnu'),
    path.join(path.dirname(path.dirname(path.dirname(sshd))), 'lib', 'x86_64-linux-gnu'),
  ];
  const env = { ...process.env, LD_LIBRARY_PATH: [...libDirs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const args = ['-D', '-e', '-f', configPath];
  const child: ChildProcess =
    user.uid === (process.getuid ? process.getuid() : 0)
      ? spawn(sshd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
      : user.namespace
        ? spawnAsRootInNamespace(etc, user, sshd, args, env)
        : spawn('setpriv', ['--reuid', String(user.uid), '--regid', String(user.gid), '--clear-groups', sshd, ...args], {
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
          });

  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s:\n${log}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      if (process.env.SSHD_DEBUG) process.stderr.write(d);
      log = (log + d.toString()).slice(-8000);
      if (/Server listening on 127\.0\.0\.1 port/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}:\n${log}`));
    });
  });

  // Never leave an sshd behind when the process exits without stop() (a crashed or interrupted test run).
  const killOnExit = (): void => {
    for (const pid of [...childPids(child.pid!), child.pid!]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    try {
      fs.rmSync(base, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };
  process.once('exit', killOnExit);

  const fingerprint = 'SHA256:' + createHash('sha256').update(hostKey.blob).digest('base64').replace(/=+$/, '');
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    username: user.username,
    privateKeyPem: userKey.privatePem,
    hostKeyFingerprint: fingerprint,
    root,
    outDir,
    inDir,
    sessionCount(): number {
      return childPids(child.pid!).length;
    },
    dropConnections(): number {
      let n = 0;
      for (const pid of childPids(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
          n++;
        } catch {
          /* already gone */
        }
      }
      return n;
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killOnExit);
      for (const pid of childPids(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        });
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

/**
 * As root: sshd refuses accounts whose password field is locked ('*' or '!', as for nobody/daemon here), and we will not
 * add a user to the system. So sshd runs in a private mount namespace (unshare -m) where /etc/passwd and /etc/shadow are
 * bind-mounted copies that add one unprivileged account `os2sftp` (uid/gid of nobody, unlocked 'NP' placeholder —
 * password login is off anyway). setpriv then drops to that uid. Nothing outside the namespace changes.
 */
function spawnAsRootInNamespace(
  etc: string,
  user: { uid: number; gid: number; username: string },
  sshd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const passwd = path.join(etc, 'passwd');
  const shadow = path.join(etc, 'shadow');
  fs.writeFileSync(
    passwd,
    fs.readFileSync('/etc/passwd', 'utf8').replace(/\n?$/, '\n') + `${user.username}:x:${user.uid}:${user.gid}:os2 sftp test:/nonexistent:/bin/sh\n`,
    { mode: 0o644 },
  );
  let shadowText = '';
  try {
    shadowText = fs.readFileSync('/etc/shadow', 'utf8').replace(/\n?$/, '\n');
  } catch {
    /* no shadow file */
  }
  fs.writeFileSync(shadow, shadowText + `${user.username}:NP:19000:0:99999:7:::\n`, { mode: 0o644 });
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `mount --bind ${q(passwd)} /etc/passwd`,
    `mount --bind ${q(shadow)} /etc/shadow`,
    `exec setpriv --reuid ${user.uid} --regid ${user.gid} --clear-groups ${[sshd, ...args].map(q).join(' ')}`,
  ].join(' && ');
  return spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { env, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** All descendants of pid (sshd forks one child per connection, which may fork again). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number): void => {
    let kids: string[] = [];
    try {
      kids = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const k of kids) {
      const kid = Number(k);
      visit(kid);
      out.push(kid);
    }
  };
  // With setpriv, setpriv execs sshd, so child.pid is sshd itself.
  visit(pid);
  return out;
}
