#!/usr/bin/env node
// Build: type-check and compile TypeScript to CommonJS in dist/, then put each node's
// editor .html, locales/ and the shared icons/ next to its compiled .js, where Node-RED looks for them.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

function copyDir(from, to, filter) {
  if (!fs.existsSync(from)) return;
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) copyDir(src, dst, filter);
    else if (!filter || filter(entry.name)) fs.copyFileSync(src, dst);
  }
}

const nodesDir = path.join(root, 'nodes');
for (const name of fs.readdirSync(nodesDir)) {
  const srcDir = path.join(nodesDir, name);
  if (!fs.statSync(srcDir).isDirectory()) continue;
  const outDir = path.join(dist, 'nodes', name);
  fs.mkdirSync(outDir, { recursive: true });
  copyDir(srcDir, outDir, (f) => f.endsWith('.html') || f.endsWith('.json'));
  copyDir(path.join(root, 'icons'), path.join(outDir, 'icons'));
}
// Non-TypeScript assets of shared modules and the simulator (e.g. XML templates).
for (const dir of ['lib', 'simulator']) {
  copyDir(path.join(root, dir), path.join(dist, dir), (f) => /\.(xml|xsd|wsdl|json)$/.test(f));
}
console.log('build: dist/ ready');
