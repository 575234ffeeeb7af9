/**
 * One SFTP connection (ssh2-sftp-client), shared by everything that uses one `sftp` config node:
 * - connects lazily, reuses the connection, re-establishes it when it was lost;
 * - pins the server's host key by its SHA-256 fingerprint (a mismatch refuses the connection, naming both);
 * - TCP_NODELAY on the socket (stream uploads are 30–50× faster with it);
 * - operations are serialised: ssh2-sftp-client must not run parallel operations on one connection.
 * No Node-RED dependency.
 */
import SftpClient from 'ssh2-sftp-client';
import { normaliseFingerprint, sha256Fingerprint } from './fingerprint';

export interface SftpSettings {
  host: string;
  port?: number;
  username: string;
  /** PEM/OpenSSH private key text. */
  privateKey: string | Buffer;
  passphrase?: string;
  /** The server's host-key fingerprint, `SHA256:…` as OpenSSH prints it (required). */
  hostKeyFingerprint: string;
  /** Connect/handshake timeout (default 20 s). */
  readyTimeoutMs?: number;
  /** SSH keepalive interval (default 10 s); 3 unanswered keepalives drop the connection. */
  keepaliveIntervalMs?: number;
  /** How often an operation is retried on a fresh connection when the connection was lost (default 2). */
  retries?: number;
  /** First retry delay, doubled each time (default 500 ms). */
  retryDelayMs?: number;
}

export class HostKeyMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    host: string,
  ) {
    super(`SFTP host key of ${host} does not match: expected ${expected}, the server presented ${actual}; connection refused`);
    this.name = 'HostKeyMismatchError';
  }
}

export class SftpConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SftpConnectionError';
  }
}

const CLOSED = 'SFTP connection is closed';

/** The error of an operation on a connection its owner closed (a redeploy or shutdown): nothing is wrong. */
export function isClosedConnection(err: unknown): boolean {
  return err instanceof SftpConnectionError && err.message === CLOSED;
}

/** What an operation gets: the connected client. Do not call end() on it. */
export type SftpOp<T> = (client: SftpClient) => Promise<T>;

interface Live {
  client: SftpClient;
  dead: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Errors that mean "the connection is gone", as opposed to a server answer such as "no such file". */
export function isConnectionLost(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = String(e?.code ?? '');
  const msg = String(e?.message ?? '');
  return (
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ERR_NOT_CONNECTED', 'ERR_GENERIC_CLIENT'].includes(code) ||
    /No SFTP connection|Connection lost|connection ended|Not connected|socket hang up|Keepalive timeout|ECONNRESET|end event|close event|Channel not open|No response from server/i.test(
      msg,
    )
  );
}

export class SftpConnection {
  private live?: Live;
  private connecting?: Promise<Live>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly pinned: string;
  /** The fingerprint the server presented on the last handshake (also when refused). */
  lastPresentedFingerprint?: string;
  /** How many connections were established (1 + reconnects). */
  connects = 0;

  constructor(private readonly settings: SftpSettings) {
    if (!settings.host) throw new Error('SFTP host is required');
    if (!settings.username) throw new Error('SFTP username is required');
    if (!settings.privateKey) throw new Error('SFTP private key is required');
    const fp = normaliseFingerprint(settings.hostKeyFingerprint);
    if (!fp) throw new Error('SFTP host-key fingerprint is required, as SHA256:<base64> (ssh-keygen -l -f <host key>)');
    this.pinned = fp;
  }

  get hostKeyFingerprint(): string {
    return this.pinned;
  }

  get connected(): boolean {
    return !!this.live && !this.live.dead;
  }

  /**
   * Runs `op` with the connected client, after every operation queued before it (never two at once).
   * When the connection is lost during `op`, it is re-established and `op` runs again — unless retry is false
   * (e.g. the source of an upload cannot be read twice).
   */
  run<T>(op: SftpOp<T>, options: { retry?: boolean } = {}): Promise<T> {
    const next = this.queue.then(
      () => this.exec(op, options.retry !== false),
      () => this.exec(op, options.retry !== false),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async exec<T>(op: SftpOp<T>, retry: boolean): Promise<T> {
    const retries = retry ? (this.settings.retries ?? 2) : 0;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new SftpConnectionError(CLOSED);
      const live = await this.ensure();
      try {
        return await op(live.client);
      } catch (err) {
        const lost = live.dead || isConnectionLost(err);
        if (!lost) throw err;
        this.discard(live);
        if (attempt >= retries || this.closed) throw err;
        await sleep((this.settings.retryDelayMs ?? 500) * 2 ** attempt);
      }
    }
  }

  private ensure(): Promise<Live> {
    if (this.live && !this.live.dead) return Promise.resolve(this.live);
    if (!this.connecting) {
      this.connecting = this.open().finally(() => {
        this.connecting = undefined;
      });
    }
    return this.connecting;
  }

  private async open(): Promise<Live> {
    const s = this.settings;
    const live: Live = { client: undefined as unknown as SftpClient, dead: false };
    const markDead = (): void => {
      live.dead = true;
    };
    // Passing callbacks also keeps the library from logging connection events to the console.
    const client = new SftpClient('os2-sftp', { error: markDead, end: markDead, close: markDead });
    live.client = client;
    let mismatch: HostKeyMismatchError | undefined;
    try {
      await client.connect({
        host: s.host,
        port: s.port ?? 22,
        username: s.username,
        privateKey: s.privateKey,
        passphrase: s.passphrase || undefined,
        readyTimeout: s.readyTimeoutMs ?? 20_000,
        keepaliveInterval: s.keepaliveIntervalMs ?? 10_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer | string): boolean => {
          const presented = sha256Fingerprint(Buffer.isBuffer(key) ? key : Buffer.from(key, 'hex'));
          this.lastPresentedFingerprint = presented;
          if (presented !== this.pinned) {
            mismatch = new HostKeyMismatchError(this.pinned, presented, `${s.host}:${s.port ?? 22}`);
            return false;
          }
          return true;
        },
      } as SftpClient.ConnectOptions);
    } catch (err) {
      live.dead = true;
      await endQuietly(client);
      if (mismatch) throw mismatch;
      throw new SftpConnectionError(`SFTP connection to ${s.host}:${s.port ?? 22} as ${s.username} failed: ${(err as Error).message}`);
    }
    const ssh = (client as unknown as { client?: { setNoDelay?: (v: boolean) => void } }).client;
    ssh?.setNoDelay?.(true);
    if (this.closed) {
      await endQuietly(client);
      throw new SftpConnectionError(CLOSED);
    }
    this.connects++;
    this.live = live;
    return live;
  }

  private discard(live: Live): void {
    live.dead = true;
    if (this.live === live) this.live = undefined;
    void endQuietly(live.client);
  }

  /** Ends the connection; later run() calls fail. Safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    // Not waiting for queued operations: an upload in flight fails now rather than holding up a redeploy.
    const pending = this.connecting;
    if (pending) await pending.catch(() => undefined);
    const live = this.live;
    this.live = undefined;
    if (live) await endQuietly(live.client);
  }
}

/** client.end() can hang on a half-dead connection (ssh2-sftp-client #395): give it 2 s, then destroy the socket. */
async function endQuietly(client: SftpClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.end().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          (client as unknown as { client?: { destroy?: () => void } }).client?.destroy?.();
          resolve();
        }, 2000);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
