/** What the `os2-sftp` config node exposes to other nodes (`RED.nodes.getNode(id)`). */
import type { SftpConnection } from './connection';
import type { ReceiptDisposal, SftpFolders } from './exchange';

export interface SftpConfig {
  /** One clear line when the configuration is unusable (missing key, bad fingerprint …). */
  readonly configError?: string;
  readonly host: string;
  readonly port: number;
  /** The SFTP user: also FileDescriptor/Sender in triggers. */
  readonly username: string;
  readonly hostKeyFingerprint: string;
  readonly folders: SftpFolders;
  /** Receipt polling defaults (waitForReceipt / uploadWithTrigger options). */
  readonly receipts: { intervalMs: number; timeoutMs: number; disposal: ReceiptDisposal };
  /** The shared connection (connects on first use, reconnects when lost, closed on redeploy). Throws Error(configError). */
  connection(): SftpConnection;
}
