// Loaded by mocha before every test file (see .mocharc.json).
import path from 'node:path';
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
