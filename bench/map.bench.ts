/**
 * Mapping cost per message (lib/mapping Mapper.map, as the os2-map node runs it): median of 7 runs, each mapping
 * N messages one after another. Values are evaluated with Node-RED's own util (msg paths, JSONata prepared once).
 * Run: npm run build && node --import tsx bench/map.bench.ts — the mapping and validation measured are the shipped build
 * in dist/ (compiled to ES2017, see tsconfig.json), not tsx's on-the-fly transpile of lib/.
 */
import * as path from 'path';
import { util as redUtil } from '@node-red/util';
import type { Evaluator, FieldSpec, MapConfig, Mapper as MapperClass } from '../lib/mapping/mapper';
import type * as JsonSchema from '../lib/validation/json-schema';
import type * as Limits from '../lib/validation/limits';
import { loadXsd } from '../lib/xml/xsd';
import { loadSubmission, readTemplate, SP241_TABLE } from '../test/fixtures/submissions';
import type { Submission } from '../lib/sf2900/model';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { SCHEMA, VALID } from './fixtures';

const dist = path.resolve(__dirname, '..', 'dist', 'lib');
const { Mapper } = require(path.join(dist, 'mapping', 'mapper')) as { Mapper: typeof MapperClass };
const { compileSchema, validateValue } = require(path.join(dist, 'validation', 'json-schema')) as typeof JsonSchema;
const { DEFAULT_LIMITS } = require(path.join(dist, 'validation', 'limits')) as typeof Limits;

const RUNS = 7;
const contractDir = process.env.SF2900_CONTRACT_DIR ?? path.resolve(__dirname, '..', '..', 'shared', 'sf2900');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const U = redUtil as any;
function evaluator(config: MapConfig): Evaluator {
  const prepared = new Map<FieldSpec, unknown>();
  for (const spec of [...Object.values(config.fields), ...(config.xmlTable ?? [])] as FieldSpec[]) {
    if (spec.type === 'jsonata') prepared.set(spec, U.prepareJSONataExpression(spec.value, null));
  }
  // as the node's (lib/node-red/map-evaluator.ts): a plain value for msg/str/env, a promise for JSONata
  return (spec, msg) =>
    spec.type === 'jsonata'
      ? new Promise((resolve, reject) => U.evaluateJSONataExpression(prepared.get(spec), msg, (e: Error | null, v: unknown) => (e ? reject(e) : resolve(v))))
      : U.evaluateNodeProperty(spec.value, spec.type, null, msg);
}

const s = (value: string, type = 'str'): FieldSpec => ({ value, type });
const routing = { routingCvr: s('DK 14814833'), kle: s('32.03.12'), handlingFacet: s('G01') };
const sp241Files = [
  { element: 'dokumenter_overslag', role: 'Overslag' },
  { element: 'dokumenter_faktura', role: 'Faktura' },
  { element: '*', role: 'Bilag' },
];

function withPdf(sub: Submission, bytes: number): Submission {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(bytes - 9, 0x41)]);
  return { ...sub, files: sub.files.map((f) => (f.element === 'attachment_pdf' ? { ...f, content: pdf, size: pdf.length } : f)) };
}

async function measure(name: string, config: MapConfig, payload: Submission, n: number, validateXml?: (xml: string) => string[] | undefined) {
  const mapper = new Mapper(config);
  if (mapper.problems.length) throw new Error(`${name}: ${mapper.problems.join('; ')}`);
  const evaluate = evaluator(config);
  for (let i = 0; i < 50; i++) await mapper.map({ payload }, evaluate, { validateXml }); // warm-up
  const perMsg: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await mapper.map({ payload, _msgid: String(i) }, evaluate, { validateXml });
    perMsg.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
  }
  perMsg.sort((a, b) => a - b);
  return { name, median: perMsg[Math.floor(RUNS / 2)], min: perMsg[0], max: perMsg[RUNS - 1] };
}

async function main() {
  const sp241 = loadSubmission('sp241');
  const formular: MapConfig = {
    objektType: 'FORMULAR',
    routingMode: 'kle',
    files: sp241Files,
    xmlMode: 'template',
    xmlTemplate: readTemplate('sp241.template.xml'),
    fields: {
      ...routing,
      formType: s('HelbredstillægAnsøgningFormular_1'),
      fileSpecification: s('HelbredstillægAnsøgningBilag_1'),
      pdf: s('attachment_pdf', 'element'),
    },
  };
  const table: MapConfig = {
    ...formular,
    xmlMode: 'table',
    xmlTemplate: '',
    xmlTable: SP241_TABLE,
  };
  const journalpost: MapConfig = {
    objektType: 'JOURNALPOST',
    routingMode: 'kle',
    files: [],
    xmlMode: 'template',
    fields: { ...routing, noteTitle: s('Henvendelse fra {{data.navn}}', 'template'), noteText: s('payload.data.besked', 'msg') },
  };
  const jsonataNote: MapConfig = {
    ...journalpost,
    fields: { ...journalpost.fields, noteText: s('$uppercase(payload.data.emne) & ": " & payload.data.besked', 'jsonata') },
  };
  const dokument: MapConfig = {
    objektType: 'DOKUMENT',
    routingMode: 'kle',
    files: [{ element: 'bilag', role: 'Bilag' }],
    xmlMode: 'template',
    fields: { ...routing, title: s('{{data.titel}}', 'template'), pdf: s('dokument', 'element') },
  };
  const xsd = await loadXsd(path.join(contractDir, 'forms', 'SP241.xsd'));
  const validateXml = (xml: string) => {
    const r = xsd.validate(xml);
    return r.valid ? undefined : r.errors.map((e) => e.message);
  };

  const rows = [
    await measure('JOURNALPOST (template + msg fields)', journalpost, loadSubmission('journalpost'), 5000),
    await measure('JOURNALPOST, note text by JSONata', jsonataNote, loadSubmission('journalpost'), 5000),
    await measure('DOKUMENT with 2 files', dokument, loadSubmission('dokument'), 5000),
    await measure('FORMULAR SP241, XML template, 3 files', formular, sp241, 2000),
    await measure('FORMULAR SP241, XML template + XSD check', formular, sp241, 2000, validateXml),
    await measure('FORMULAR SP241, mapping table (10 rows)', table, sp241, 2000),
    await measure('FORMULAR SP241, template, 1 MB PDF', formular, withPdf(sp241, 1024 * 1024), 200),
  ];
  // validate + map as a flow runs them (the validate node's check with Danish messages, then map) against raw ajv
  // validating the same submission with the same schema, in the same run
  const compiled = compileSchema(SCHEMA);
  const ajv = new Ajv({ allErrors: true });
  addFormats(ajv);
  ajv.addFormat('cpr', /^[0-9]{6}-?[0-9]{4}$/);
  const raw = ajv.compile(SCHEMA);
  const jp = VALID as unknown as Submission;
  if (!raw(jp) || !validateValue(compiled, jp, 'da', DEFAULT_LIMITS).valid) throw new Error('the bench submission does not validate');
  // the note from the submission's own fields
  const note: MapConfig = {
    ...journalpost,
    fields: { ...routing, noteTitle: s('Ansøgning fra {{data.fornavn}} {{data.efternavn}}', 'template'), noteText: s('payload.data.beskrivelse', 'msg') },
  };
  const jpMapper = new Mapper(note);
  const jpEvaluate = evaluator(note);
  const pipeline = async (n: number) => {
    for (let i = 0; i < n; i++) {
      if (!validateValue(compiled, jp, 'da', DEFAULT_LIMITS).valid) throw new Error('invalid');
      await jpMapper.map({ payload: jp, _msgid: String(i) }, jpEvaluate, {});
    }
  };
  const rawAjv = async (n: number) => {
    for (let i = 0; i < n; i++) if (!raw(jp)) throw new Error('invalid');
  };
  const perMsg = async (fn: (n: number) => Promise<void>, n: number) => {
    await fn(200);
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.hrtime.bigint();
      await fn(n);
      runs.push(Number(process.hrtime.bigint() - t0) / 1e3 / n);
    }
    return runs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  };
  const both = await perMsg(pipeline, 5000);
  const ajvOnly = await perMsg(rawAjv, 50_000);

  const base = rows[3].median;
  console.log(`Mapping cost per message (median of ${RUNS} runs; Node ${process.version}, ${require('os').cpus().length} cores)\n`);
  console.log('| case | median µs/msg | min–max µs | msgs/s | × SP241 template |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)}–${r.max.toFixed(1)} | ${Math.round(1e6 / r.median).toLocaleString('en')} | ${(r.median / base).toFixed(2)} |`,
    );
  }
  console.log(
    '\nvalidate + map against raw ajv (with ajv-formats) on the same submission (bench/fixtures.ts: ~15 fields, formats uuid, date-time, email, cpr) (median µs per message, same run):\n',
  );
  console.log('| validate (da messages, limits) + map JOURNALPOST | raw ajv validate | ratio (target ≤ 5×) |');
  console.log('| ---: | ---: | ---: |');
  console.log(`| ${both.toFixed(1)} | ${ajvOnly.toFixed(2)} | ${(both / ajvOnly).toFixed(1)}× |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
