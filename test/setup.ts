// Loaded by mocha before every test file (see .mocharc.json).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useDefaultLedgerDir } from '../lib/ledger/default-ledger';
import helper from 'node-red-node-test-helper';

/**
 * The Node-RED under test: this project's devDependency (4.x) unless OS2_NODE_RED_PATH points at another
 * installation (.ci/run uses it to run the same suite against Node-RED 5 on Node 22).
 */
export const nodeRedPath = process.env.OS2_NODE_RED_PATH
  ? require.resolve('node-red', { paths: [process.env.OS2_NODE_RED_PATH] })
  : require.resolve('node-red');
helper.init(nodeRedPath);

/** Where the official SF2900 contract, form schemas and SFTP contract live (not copied into the project). */
process.env.SF2900_CONTRACT_DIR ??= path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

/**
 * The default ledger (used by nodes without a ledger config node) of this test process: a throw-away directory, not
 * ~/.node-red. Set through a module hook, not the environment, so Node-RED processes the tests start keep their own.
 */
const defaultLedgerDir = mkdtempSync(path.join(os.tmpdir(), 'os2-test-default-ledger-'));
useDefaultLedgerDir(defaultLedgerDir);
process.on('exit', () => rmSync(defaultLedgerDir, { recursive: true, force: true }));
