/**
 * A real Node-RED process for the resilience tests: this repository's node-red (devDependency) with nodesDir = the
 * repository root (so dist/ — built by `npm test` — provides the nodes), a flow and plain-text credentials written into
 * a user directory. It can be SIGKILLed and started again on the same port and user directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../support/net';

const root = path.resolve(__dirname, '..', '..');

export interface RedOptions {
  userDir: string;
  flows: Array<Record<string, unknown>>;
  /** Credentials by node id (written in plain text: credentialSecret false). */
  credentials: Record<string, Record<string, unknown>>;
  /** A POST route that answers something other than 404 once the flows run. */
  readyPath: string;
  env?: Record<string, string>;
}

export class RedProcess {
  child: ChildProcess | undefined;
  log = '';
  port = 0;
  starts = 0;

  constructor(private readonly o: RedOptions) {
    if (!fs.existsSync(path.join(root, 'dist', 'nodes', 'fordeling-out', 'fordeling-out.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (!this.port) this.port = await freePort();
    const { userDir } = this.o;
    if (this.starts === 0) {
      fs.mkdirSync(userDir, { recursive: true });
      const settings = {
        uiHost: '127.0.0.1',
        uiPort: this.port,
        flowFile: 'flows.json',
        credentialSecret: false,
        nodesDir: [root],
        logging: { console: { level: 'warn' } },
      };
      fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};\n`);
      fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(this.o.flows));
      fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(this.o.credentials));
    }
    this.starts++;
    const redJs = require.resolve('node-red/red.js', { paths: [root] });
    const child = spawn(process.execPath, [redJs, '-u', userDir, '-s', path.join(userDir, 'settings.js'), '-p', String(this.port)], {
      cwd: userDir,
      env: { ...process.env, ...this.o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node-red exited with ${child.exitCode}:\n${this.log.slice(-3000)}`);
      try {
        const res = await fetch(this.url + this.o.readyPath, { method: 'POST', signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status !== 404) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`node-red did not become ready within ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private append(d: Buffer): void {
    this.log = (this.log + d.toString()).slice(-200_000);
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL (no clean-up at all) and wait for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (a clean stop), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

/** A function node's code turning a Submission into a JOURNALPOST (what map does in a real flow). */
export function buildJournalpostCode(template: object): string {
  return [
    `const o = ${JSON.stringify(template)};`,
    'o.submissionId = msg.payload.submission.uuid;',
    'o.webformId = msg.payload.webform.id;',
    'msg.payload = o;',
    'return msg;',
  ].join('\n');
}
