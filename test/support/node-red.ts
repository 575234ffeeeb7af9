/**
 * The one harness for tests that need a real Node-RED (the node-red-node-test-helper covers the rest):
 *   - RedProcess: this repository's node-red (devDependency, or another installation's red.js) with nodesDir = the
 *     repository root (so dist/ — built by `npm test` — provides the nodes), a flow and plain-text credentials in a
 *     user directory; it can be SIGKILLed and started again on the same port and user directory.
 *   - NpmStart: `npm start` itself (scripts/start.js: simulator + Node-RED + demo flows) on free ports and a throw-away
 *     user directory, with everything it prints.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net';

const root = path.resolve(__dirname, '..', '..');

export interface RedOptions {
  userDir: string;
  flows: Array<Record<string, unknown>>;
  /** Credentials by node id (written in plain text: credentialSecret false). */
  credentials: Record<string, Record<string, unknown>>;
  /** A POST route that answers something other than 404 once the flows run (default: the editor answers GET /). */
  readyPath?: string;
  env?: Record<string, string>;
  /** Extra settings.js entries. */
  settings?: Record<string, unknown>;
  /** Where node-red is installed (default: this repository). */
  nodeRedRoot?: string;
  /** Where Node-RED looks for extra nodes (default: this repository, so dist/ provides them; [] for an installed package). */
  nodesDir?: string[];
  /** Options for node itself, before red.js (e.g. --cpu-prof). */
  nodeArgs?: string[];
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
        nodesDir: this.o.nodesDir ?? [root],
        logging: { console: { level: 'warn' } },
        ...this.o.settings,
      };
      fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings)};\n`);
      fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(this.o.flows));
      fs.writeFileSync(path.join(userDir, 'flows_cred.json'), JSON.stringify(this.o.credentials));
    }
    this.starts++;
    const redJs = require.resolve('node-red/red.js', { paths: [this.o.nodeRedRoot ?? root] });
    const child = spawn(
      process.execPath,
      [...(this.o.nodeArgs ?? []), redJs, '-u', userDir, '-s', path.join(userDir, 'settings.js'), '-p', String(this.port)],
      {
        cwd: userDir,
        env: { ...process.env, ...this.o.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => this.append(d));
    child.stderr!.on('data', (d: Buffer) => this.append(d));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`node-red exited with ${child.exitCode}:\n${this.log.slice(-3000)}`);
      try {
        const ready = this.o.readyPath;
        const res = await fetch(this.url + (ready ?? '/'), { method: ready ? 'POST' : 'GET', signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (ready ? res.status !== 404 : res.status === 200) return;
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

/** `npm start` (scripts/start.js) on free ports with a throw-away user directory; `out` is everything it printed. */
export class NpmStart {
  child: ChildProcess | undefined;
  userDir = '';
  port = 0;
  out = '';

  constructor(private readonly o: { env?: Record<string, string>; ready?: RegExp } = {}) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port and user directory) and waits until it says it is ready. */
  async start(): Promise<void> {
    if (!fs.existsSync(path.join(root, 'dist', 'simulator', 'cli.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    if (!this.userDir) this.userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'os2-start-'));
    if (!this.port) this.port = await freePort();
    this.out = '';
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      cwd: root,
      env: { ...process.env, PORT: String(this.port), SF2900_SIM_PORT: '0', OS2_USER_DIR: this.userDir, ...this.o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (d) => (this.out += d));
    child.stderr!.on('data', (d) => (this.out += d));
    await this.waitForOutput(this.o.ready ?? /Node-RED editor:/, 90_000);
  }

  /** Waits until the output matches (or it exits, or the time is up). */
  async waitForOutput(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const until = Date.now() + ms;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (this.child?.exitCode !== null) throw new Error(`npm start exited (${this.child?.exitCode}):\n${this.out.slice(-3000)}`);
      if (Date.now() > until) throw new Error(`no ${re} in npm start's output within ${ms} ms:\n${this.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM, and wait for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** Stops it and removes its user directory. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.userDir) fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}
