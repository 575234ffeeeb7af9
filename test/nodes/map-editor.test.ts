// The map node's editor definition: defaults and validators flag invalid settings in the dialog.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { parseXmlSafely } from '../../lib/xml/safe-xml';

type Validator = (this: Record<string, unknown>, v: unknown, opt?: unknown) => true | string | boolean;
interface Def {
  defaults: Record<string, { value: unknown; validate?: Validator }>;
  paletteLabel: string;
  category: string;
  inputs: number;
  outputs: number;
}

function loadDefinition(): Def {
  const html = fs.readFileSync(path.join(__dirname, '..', '..', 'nodes', 'map', 'map.html'), 'utf8');
  const js = /<script type="text\/javascript">([\s\S]*?)<\/script>/.exec(html)![1];
  let def: Def | undefined;
  // Browser DOMParser stand-in: a <parsererror> element for malformed XML, as browsers do.
  class DOMParser {
    parseFromString(s: string) {
      try {
        parseXmlSafely(s);
        return { getElementsByTagName: () => [] };
      } catch (e) {
        return { getElementsByTagName: () => [{ textContent: (e as Error).message }] };
      }
    }
  }
  const RED = {
    _: (k: string) => k,
    nodes: {
      registerType: (_t: string, d: Def) => {
        def = d;
      },
      getType: () => ({ _: (k: string) => k }),
    },
  };
  vm.runInNewContext(js, { RED, DOMParser, $: () => ({}) });
  return def!;
}

describe('os2-map editor definition', () => {
  const def = loadDefinition();
  const node = (extra: Record<string, unknown> = {}) => {
    const n: Record<string, unknown> = {};
    for (const [k, d] of Object.entries(def.defaults)) n[k] = d.value;
    return Object.assign(n, extra);
  };
  const check = (n: Record<string, unknown>, prop: string) => def.defaults[prop].validate!.call(n, n[prop]);

  it('is the OS2 palette node "map" with one input and one output', () => {
    assert.equal(def.paletteLabel, 'map');
    assert.equal(def.category, 'OS2');
    assert.equal(def.inputs, 1);
    assert.equal(def.outputs, 1);
    assert.equal(def.defaults.documentType.value, 'Anden');
    assert.equal(def.defaults.partText.value, 'Hele dokumentet');
  });

  it('every validator takes (value, opt), so Node-RED treats a returned message as invalid', () => {
    for (const [name, d] of Object.entries(def.defaults)) {
      if (d.validate && !['objektType', 'routingMode'].includes(name)) assert.equal(d.validate.length, 2, name);
    }
  });

  it('flags a bad CVR, KLE, facet or UUID given as literal, but accepts spellings the runtime normalises', () => {
    assert.equal(check(node({ routingCvr: 'DK 1481 4833' }), 'routingCvr'), true);
    assert.equal(check(node({ routingCvr: '1234' }), 'routingCvr'), 'map.errors.cvr');
    assert.equal(check(node({ routingCvr: 'payload.cvr', routingCvrType: 'msg' }), 'routingCvr'), true);
    assert.equal(check(node({ kle: '320312' }), 'kle'), true);
    assert.equal(check(node({ kle: '32.03' }), 'kle'), 'map.errors.kle');
    assert.equal(check(node({ handlingFacet: 'g01' }), 'handlingFacet'), true);
    assert.equal(check(node({ handlingFacet: 'G1' }), 'handlingFacet'), 'map.errors.facet');
    assert.equal(check(node({ routingMode: 'system', receivingSystemUuid: 'nope' }), 'receivingSystemUuid'), 'map.errors.uuid');
    assert.equal(check(node({ direction: 'udgående' }), 'direction'), true);
    assert.equal(check(node({ direction: 'op' }), 'direction'), 'map.errors.list');
  });

  it('flags missing routing and required FORMULAR/JOURNALPOST settings', () => {
    assert.notEqual(check(node({ routingCvr: '' }), 'routingCvr'), true);
    assert.notEqual(check(node({ kle: '' }), 'kle'), true);
    assert.notEqual(check(node({ kle: '', routingMode: 'system' }), 'kle'), true, 'KLEEmneForslag is required in every object');
    assert.notEqual(check(node({ routingMode: 'system', receivingSystemUuid: '' }), 'receivingSystemUuid'), true);
    assert.notEqual(check(node({ formType: '' }), 'formType'), true);
    assert.notEqual(check(node({ objektType: 'JOURNALPOST', noteText: '' }), 'noteText'), true);
    assert.equal(check(node({ objektType: 'JOURNALPOST', formType: '' }), 'formType'), true);
  });

  it('checks the XML template for well-formedness and balanced blocks when the dialog is saved', () => {
    assert.equal(check(node({ xmlTemplate: '<SP241>{{#each files}}<D>{{sftpName}}</D>{{/each}}</SP241>' }), 'xmlTemplate'), true);
    assert.match(String(check(node({ xmlTemplate: '<SP241><Header></SP241>' }), 'xmlTemplate')), /notWellFormed/);
    assert.equal(check(node({ xmlTemplate: '<SP241>{{#if x}}</SP241>' }), 'xmlTemplate'), 'map.errors.template');
    assert.equal(check(node({ xmlTemplate: '' }), 'xmlTemplate'), 'map.errors.noTemplate');
    assert.equal(check(node({ xmlTemplate: '', objektType: 'DOKUMENT' }), 'xmlTemplate'), true);
    assert.equal(check(node({ xmlMode: 'table', xmlTable: [] }), 'xmlTable'), 'map.errors.table');
    assert.equal(check(node({ xmlMode: 'table', xmlTable: [{ path: 'SP241/Header/Dokumenter+/Dokumentnavn', value: 'x', type: 'str' }] }), 'xmlTable'), true);
  });
});
