#!/usr/bin/env node
// npm run check:flows — every flow file in flows/ and examples/ must be a JSON array of nodes with unique ids,
// use only node types this package or Node-RED's core provides, and hold no secret (credentials, private keys,
// passwords or API keys other than ${ENV_VAR} references). Exits 1 with one line per problem.
// Usage: node scripts/check-flows.js [file.json ...]   (default: flows/ and examples/)
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');

function registeredTypes(htmlFile) {
  const text = fs.readFileSync(htmlFile, 'utf8');
  return [...text.matchAll(/registerType\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
}

function walk(dir, pred, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, pred, out);
    else if (pred(p)) out.push(p);
  }
  return out;
}

const known = new Set(['tab', 'group', 'subflow', 'junction', 'comment']);
for (const f of walk(path.join(root, 'nodes'), (p) => p.endsWith('.html') && !p.includes(`${path.sep}locales${path.sep}`))) {
  for (const t of registeredTypes(f)) known.add(t);
}
const coreDir = path.dirname(require.resolve('@node-red/nodes/package.json'));
for (const f of walk(path.join(coreDir, 'core'), (p) => p.endsWith('.html'))) {
  for (const t of registeredTypes(f)) known.add(t);
}

const SECRET_KEYS = /^(password|passphrase|secret|apikey|api_key|privatekey|private_key|pfx|p12|hmacsecret|sharedsecret)$/i;
const ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const problems = [];

function scanValue(file, node, key, value) {
  if (typeof value === 'string') {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value)) problems.push(`${file}: node ${node.id} (${node.type}) holds a private key in "${key}"`);
    else if (SECRET_KEYS.test(key) && value !== '' && !ENV_REF.test(value))
      problems.push(`${file}: node ${node.id} (${node.type}) holds a secret in "${key}" (use credentials or \${ENV_VAR})`);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) scanValue(file, node, k, v);
  }
}

const args = process.argv.slice(2).map((f) => path.resolve(f));
const files = args.length
  ? args
  : [...walk(path.join(root, 'flows'), (p) => p.endsWith('.json')), ...walk(path.join(root, 'examples'), (p) => p.endsWith('.json'))];
for (const abs of files) {
  const file = path.relative(root, abs);
  let flow;
  try {
    flow = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    problems.push(`${file}: not valid JSON (${err.message})`);
    continue;
  }
  if (!Array.isArray(flow)) {
    problems.push(`${file}: must be a JSON array of nodes`);
    continue;
  }
  const ids = new Set();
  for (const node of flow) {
    if (!node || typeof node.id !== 'string' || typeof node.type !== 'string') {
      problems.push(`${file}: an entry without id or type`);
      continue;
    }
    if (ids.has(node.id)) problems.push(`${file}: duplicate node id ${node.id}`);
    ids.add(node.id);
    if (!known.has(node.type) && !node.type.startsWith('subflow:')) problems.push(`${file}: node ${node.id} has unknown type "${node.type}"`);
    if (node.credentials && Object.values(node.credentials).some((v) => v !== '' && v !== null && v !== undefined)) {
      problems.push(`${file}: node ${node.id} (${node.type}) carries credentials`);
    }
    for (const [k, v] of Object.entries(node)) if (k !== 'credentials') scanValue(file, node, k, v);
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`check:flows: ${problems.length} problem(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`check:flows: ${files.length} flow file(s) OK (${known.size} known node types)`);
