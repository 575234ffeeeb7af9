/**
 * What `webform in` (fetch mode) has already emitted, kept durably so a restart neither re-emits nor skips.
 * A tiny interface so a ledger-backed store can replace the file store later.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface CursorStore {
  /** True when `key` (a submission's sid or uuid) has been recorded as emitted. */
  has(key: string): boolean;
  /** Records `key` as emitted; resolves once it is durable. */
  add(key: string): Promise<void>;
  /** Number of recorded keys. */
  readonly size: number;
}

interface CursorFile {
  version: 1;
  updated: string;
  seen: string[];
}

/**
 * A JSON file `{version, updated, seen: [...]}` rewritten atomically on each add
 * (write to a temporary file, fsync, rename, fsync the directory). Writes are serialised.
 */
export class FileCursorStore implements CursorStore {
  private readonly seen: Set<string>;
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    seen: Iterable<string>,
  ) {
    this.seen = new Set(seen);
  }

  /** Opens (or creates on first add) the store. A file that exists but cannot be read is an error, never a silent reset. */
  static async open(file: string): Promise<FileCursorStore> {
    let text: string | undefined;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text === undefined) return new FileCursorStore(file, []);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`cursor file ${file} is not valid JSON; fix or remove it (removing re-emits every submission)`);
    }
    const seen = (parsed as Partial<CursorFile>)?.seen;
    if (!Array.isArray(seen) || !seen.every((s) => typeof s === 'string')) {
      throw new Error(`cursor file ${file} has no "seen" list; fix or remove it (removing re-emits every submission)`);
    }
    return new FileCursorStore(file, seen);
  }

  has(key: string): boolean {
    return this.seen.has(key);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Every recorded key. */
  keys(): string[] {
    return [...this.seen];
  }

  add(key: string): Promise<void> {
    this.seen.add(key);
    const next = this.chain.then(() => this.write());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<void> {
    const dir = path.dirname(this.file);
    await fsp.mkdir(dir, { recursive: true });
    const body: CursorFile = { version: 1, updated: new Date().toISOString(), seen: [...this.seen] };
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(body));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
    try {
      const dh = await fsp.open(dir, 'r');
      try {
        await dh.sync();
      } finally {
        await dh.close();
      }
    } catch {
      // fsync of a directory is not supported everywhere (e.g. Windows); the rename is still atomic.
    }
  }
}
