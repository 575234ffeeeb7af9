#!/usr/bin/env node
// npm run bench: builds dist/ (the benches measure the shipped build), then runs every bench/*.bench.ts in turn (with
// tsx) and prints their tables; `npm run bench -- <part of a name>` runs only those.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const dir = path.join(__dirname, '..', 'bench');
const only = process.argv[2];
for (const f of fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  if (only && !f.includes(only)) continue;
  console.log(`\n## ${f}\n`);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
}
