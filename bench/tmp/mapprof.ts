import { util as redUtil } from '@node-red/util';
import { Mapper, type Evaluator, type FieldSpec, type MapConfig } from '/work/main/lib/mapping/mapper';
import { SCHEMA, VALID } from '/work/main/bench/fixtures';
import { compileSchema, validateValue } from '/work/main/lib/validation/json-schema';
import { DEFAULT_LIMITS } from '/work/main/lib/validation/limits';
const U = redUtil as any;
const s = (value: string, type = 'str'): FieldSpec => ({ value, type });
const note: MapConfig = { objektType: 'JOURNALPOST', routingMode: 'kle', files: [], xmlMode: 'template',
  fields: { routingCvr: s('DK 14814833'), kle: s('32.03.12'), handlingFacet: s('G01'), noteTitle: s('Ansøgning fra {{data.fornavn}} {{data.efternavn}}', 'template'), noteText: s('payload.data.beskrivelse', 'msg') } } as any;
const ev: Evaluator = (spec, msg) => new Promise((res) => res(U.evaluateNodeProperty(spec.value, spec.type, null, msg)));
const m = new Mapper(note); const c = compileSchema(SCHEMA); const jp = VALID as any;
async function main(){ const which=process.env.W||'both';
 for (let k=0;k<3;k++){ const t0=process.hrtime.bigint(); for (let i=0;i<20000;i++){ if(which!=='map') validateValue(c, jp, 'da', DEFAULT_LIMITS); if(which!=='val') await m.map({ payload: jp, _msgid: String(i) }, ev, {}); } console.log(which, Number(process.hrtime.bigint()-t0)/1e3/20000,'us'); } }
main();
