/**
 * Validation cost per message, as the os2-validate node runs it (limits check + compiled ajv validator with allErrors;
 * XSD via libxml2-wasm): median of 7 runs, each validating N messages one after another, after a warm-up.
 * Also: compiling a schema (what a cache miss for msg.schema costs) and a cache hit (hashing msg.schema).
 * Run: node --import tsx bench/validate.bench.ts
 */
import * as fs from 'fs';
import * as path from 'path';
import { compileSchema, SchemaCache, validateValue } from '../lib/validation/json-schema';
import { DEFAULT_LIMITS } from '../lib/validation/limits';
import { validateXml } from '../lib/validation/xml';
import { loadXsd } from '../lib/xml/xsd';
import { SCHEMA, VALID } from './fixtures';

const RUNS = 7;
const contractDir = process.env.SF2900_CONTRACT_DIR ?? path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

const INVALID = {
  ...VALID,
  data: {
    ...VALID.data,
    cpr: undefined,
    email: 'ikke-en-mail',
    adresse: { address: 'Østergade 12', postal_code: '80000' },
    udgiftstype: ['hår'],
    samtykke: '0',
  },
};

function measure(name: string, n: number, fn: (i: number) => void): { name: string; median: number; min: number; max: number } {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i); // warm-up
  const perMsg: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    perMsg.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  perMsg.sort((a, b) => a - b);
  return { name, median: perMsg[Math.floor(RUNS / 2)], min: perMsg[0], max: perMsg[RUNS - 1] };
}

async function main(): Promise<void> {
  const compiled = compileSchema(SCHEMA);
  const invalidErrors = validateValue(compiled, INVALID, 'da', DEFAULT_LIMITS).errors.length;
  if (!validateValue(compiled, VALID, 'da', DEFAULT_LIMITS).valid || invalidErrors < 5) throw new Error('bench fixtures are wrong');

  const xsd = await loadXsd(path.join(contractDir, 'forms', 'SP241.xsd'));
  const sp241 = fs.readFileSync(path.join(contractDir, 'forms', 'SP241.xml'), 'utf8');
  const sp241Bad = sp241.replace('<Erklaering>Accepteret</Erklaering>', '<Erklaering>Nej</Erklaering>');
  if (!validateXml(xsd, sp241, 'da', DEFAULT_LIMITS).valid || validateXml(xsd, sp241Bad, 'da', DEFAULT_LIMITS).valid) throw new Error('XSD fixtures are wrong');

  const cache = new SchemaCache();
  cache.get(SCHEMA);
  const hostile = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));

  const rows = [
    measure('JSON Schema, valid submission (da)', 20_000, () => validateValue(compiled, VALID, 'da', DEFAULT_LIMITS)),
    measure(`JSON Schema, invalid submission, ${invalidErrors} errors (da)`, 20_000, () => validateValue(compiled, INVALID, 'da', DEFAULT_LIMITS)),
    measure('msg.schema cache hit (hash of the schema) + valid submission', 20_000, () => validateValue(cache.get(SCHEMA), VALID, 'da', DEFAULT_LIMITS)),
    measure('JSON Schema compile (a msg.schema cache miss)', 20, () => compileSchema(SCHEMA)),
    measure('hostile: 1,000,000-item array refused by the limits', 200, () => validateValue(compiled, hostile, 'da', DEFAULT_LIMITS)),
    measure(`XSD SP241, valid (${sp241.length} chars)`, 5_000, () => validateXml(xsd, sp241, 'da', DEFAULT_LIMITS)),
    measure('XSD SP241, invalid', 5_000, () => validateXml(xsd, sp241Bad, 'da', DEFAULT_LIMITS)),
  ];
  const base = rows[0].median;
  console.log(`Node ${process.version}, ${RUNS} runs; µs per message (median, min–max); ratio to the first row\n`);
  console.log('| case | µs/msg (median) | min–max | ratio |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)}–${r.max.toFixed(1)} | ${(r.median / base).toFixed(1)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
