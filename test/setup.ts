// Loaded by mocha before every test file (see .mocharc.json).
import helper from 'node-red-node-test-helper';

helper.init(require.resolve('node-red'));

/** Where the official SF2900 contract, form schemas and SFTP contract live (not copied into the project). */
process.env.SF2900_CONTRACT_DIR ??= require('path').resolve(__dirname, '..', '..', 'shared', 'sf2900');
