/**
 * The simulator's SFTP side: watches the sshd's local OUT folder (polling) and answers each complete file + trigger
 * as the Serviceplatform does — `<name>.sftpreceipt` in IN with a TechnicalReceipt SUCCESS, or ErrorMessages for a bad
 * trigger (schema-invalid, file missing, size or name mismatch, InfRef refused). Temporary (`.part`, hidden) files are
 * never looked at; only `<name>.trigger` starts processing. Delivered file + trigger move to `deliveredDir`.
 */
import { randomUUID } from 'crypto';
import { EventEmitter } from 'events';
import * as fs from 'fs';
import * as path from 'path';
import type { Element } from '@xmldom/xmldom';
import { buildTechnicalReceipt, type SftpErrorMessage } from '../../lib/sftp/receipt-files';
import { parseXmlSafely } from '../../lib/xml/safe-xml';
import { loadXsd, type XsdSchema } from '../../lib/xml/xsd';

export interface WatcherOptions {
  outDir: string;
  inDir: string;
  /** Where delivered files and triggers go (default: deleted from OUT). */
  deliveredDir?: string;
  /** Poll interval (default 100 ms). */
  intervalMs?: number;
  /** SFTPTypes.xsd (default $SF2900_CONTRACT_DIR/sftp/SFTPTypes.xsd). */
  schemaPath?: string;
  /** Return an error text to refuse a file specification (InfRef), as the platform does for unknown ones. */
  refuseInfRef?: (infRef: string) => string | undefined;
}

export interface WatcherEvent {
  trigger: string;
  fileName: string;
  ok: boolean;
  errors: SftpErrorMessage[];
  /** Size of `<name>` on disk when its trigger was seen (undefined: missing). */
  sizeOnDisk?: number;
  declaredSize?: number;
  infRef?: string;
  triggerXml: string;
  fileTransferUuid: string;
}

export const ERR_INVALID_TRIGGER = 100;
export const ERR_FILE_MISSING = 101;
export const ERR_SIZE_MISMATCH = 102;
export const ERR_NAME_MISMATCH = 103;
export const ERR_INFREF_REFUSED = 104;

function child(el: Element | undefined, local: string): Element | undefined {
  for (let n = el?.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === local) return n as Element;
  }
  return undefined;
}

export class SftpWatcher extends EventEmitter {
  readonly events: WatcherEvent[] = [];
  private timer?: NodeJS.Timeout;
  private schema?: XsdSchema;
  private busy = false;
  private readonly failed = new Set<string>();
  private running = false;

  constructor(private readonly opts: WatcherOptions) {
    super();
  }

  async start(): Promise<void> {
    const schemaPath =
      this.opts.schemaPath ??
      path.join(process.env.SF2900_CONTRACT_DIR ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'sf2900'), 'sftp', 'SFTPTypes.xsd');
    this.schema = await loadXsd(schemaPath);
    if (this.opts.deliveredDir) fs.mkdirSync(this.opts.deliveredDir, { recursive: true });
    this.running = true;
    const tick = (): void => {
      if (!this.running) return;
      this.timer = setTimeout(() => {
        this.scan()
          .catch((err: Error) => this.report(err))
          .finally(tick);
      }, this.opts.intervalMs ?? 100);
    };
    tick();
  }

  /** 'error' events when someone listens, else a warning: the watcher never crashes the process. */
  private report(err: Error): void {
    if (this.listenerCount('error')) this.emit('error', err);
    else console.warn(err.message);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
  }

  /** One pass over OUT (also callable directly by tests). */
  async scan(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const names = fs.readdirSync(this.opts.outDir).filter((n) => n.endsWith('.trigger') && !n.startsWith('.'));
      for (const trigger of names) {
        if (this.failed.has(trigger)) continue;
        try {
          this.process(trigger);
        } catch (err) {
          // e.g. a receipt name too long for the file system: report once, do not retry every tick.
          this.failed.add(trigger);
          this.report(new Error(`SFTP simulator could not answer ${trigger}: ${(err as Error).message}`));
        }
      }
    } finally {
      this.busy = false;
    }
  }

  private process(trigger: string): void {
    const out = this.opts.outDir;
    const fileName = trigger.slice(0, -'.trigger'.length);
    const triggerPath = path.join(out, trigger);
    let xml: string;
    try {
      xml = fs.readFileSync(triggerPath, 'utf8');
    } catch {
      return; // vanished meanwhile
    }
    const errors: SftpErrorMessage[] = [];
    let declaredSize: number | undefined;
    let infRef: string | undefined;
    let sendersFileId: string | undefined;
    const result = this.schema!.validate(xml);
    if (!result.valid) {
      errors.push({
        code: ERR_INVALID_TRIGGER,
        codeDescription: 'Invalid trigger',
        description: result.errors
          .map((e) => e.message)
          .join('; ')
          .slice(0, 1000),
      });
    } else {
      const root = parseXmlSafely(xml, 'trigger').documentElement as unknown as Element;
      const fd = child(root, 'FileDescriptor');
      const named = child(fd, 'FileName')?.textContent?.trim();
      declaredSize = Number(child(fd, 'SizeInBytes')?.textContent?.trim());
      sendersFileId = child(fd, 'SendersFileId')?.textContent?.trim();
      infRef = child(child(child(root, 'FileContentDescriptor'), 'SFTPDynamicRoutingInfo'), 'InfRef')?.textContent?.trim();
      if (named !== fileName) {
        errors.push({ code: ERR_NAME_MISMATCH, codeDescription: 'File name mismatch', description: `trigger ${trigger} names ${JSON.stringify(named)}` });
      }
      const refusal = infRef !== undefined ? this.opts.refuseInfRef?.(infRef) : undefined;
      if (refusal) errors.push({ code: ERR_INFREF_REFUSED, codeDescription: 'Unknown file specification', description: refusal });
    }
    let sizeOnDisk: number | undefined;
    try {
      sizeOnDisk = fs.statSync(path.join(out, fileName)).size;
    } catch {
      errors.push({ code: ERR_FILE_MISSING, codeDescription: 'File not found', description: `${fileName} is not in OUT` });
    }
    if (sizeOnDisk !== undefined && declaredSize !== undefined && sizeOnDisk !== declaredSize) {
      errors.push({
        code: ERR_SIZE_MISMATCH,
        codeDescription: 'Size mismatch',
        description: `${fileName} has ${sizeOnDisk} bytes, the trigger says ${declaredSize}`,
      });
    }
    const fileTransferUuid = randomUUID();
    const receipt = buildTechnicalReceipt({ fileTransferUuid, sendersFileId, errors });
    const tmp = path.join(this.opts.inDir, `.sim-${fileTransferUuid}.tmp`);
    fs.writeFileSync(tmp, receipt, { mode: 0o666 });
    fs.renameSync(tmp, path.join(this.opts.inDir, `${fileName}.sftpreceipt`));
    // The platform takes the file away; keep it for inspection when asked.
    for (const n of [fileName, trigger]) {
      const from = path.join(out, n);
      if (!fs.existsSync(from)) continue;
      if (this.opts.deliveredDir) fs.renameSync(from, path.join(this.opts.deliveredDir, n));
      else fs.rmSync(from, { force: true });
    }
    const event: WatcherEvent = { trigger, fileName, ok: !errors.length, errors, sizeOnDisk, declaredSize, infRef, triggerXml: xml, fileTransferUuid };
    this.events.push(event);
    this.emit('receipt', event);
  }
}
