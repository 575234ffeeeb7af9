/**
 * The simulator's SFTP side in one call: a real OpenSSH sshd on loopback plus the watcher that answers triggers.
 * `npm start` (scripts/start.js) can call startSftpSimulator() when findSshd() finds an sshd, and configure an
 * os2-sftp node from `settings`.
 */
import { SftpWatcher, type WatcherOptions } from './watcher';
import { findSshd, startSshd, type SshdHandle } from './sshd';

export { findSshd, SftpWatcher };

export interface SftpSimulator {
  sshd: SshdHandle;
  watcher: SftpWatcher;
  /** What an os2-sftp config node needs (privateKey goes into its credentials). */
  settings: { host: string; port: number; username: string; privateKey: string; hostKeyFingerprint: string; outDir: 'OUT'; inDir: 'IN' };
  stop(): Promise<void>;
}

export async function startSftpSimulator(options: Partial<Omit<WatcherOptions, 'outDir' | 'inDir'>> = {}): Promise<SftpSimulator> {
  const sshd = await startSshd();
  const watcher = new SftpWatcher({ outDir: sshd.outDir, inDir: sshd.inDir, intervalMs: 200, ...options });
  try {
    await watcher.start();
  } catch (err) {
    await sshd.stop();
    throw err;
  }
  return {
    sshd,
    watcher,
    settings: {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.privateKeyPem,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      outDir: 'OUT',
      inDir: 'IN',
    },
    async stop() {
      await watcher.stop();
      await sshd.stop();
    },
  };
}
