// The importable example "02 - Validate a submission": webform in → validate → debug (valid / invalid).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import helper from 'node-red-node-test-helper';
import request from 'supertest';
import type { NodeAPI } from 'node-red';
import webformInNode from '../../nodes/webform-in/webform-in';
import validateNode from '../../nodes/validate/validate';

const EXAMPLE = path.join(__dirname, '..', '..', 'examples', '02 - Validate a submission.json');

describe('example 02 - Validate a submission', () => {
  afterEach(() => helper.unload());

  it('routes a complete submission to "valid" and a faulty one to "invalid" with Danish errors', async () => {
    const flow = JSON.parse(fs.readFileSync(EXAMPLE, 'utf8')) as Array<Record<string, any>>;
    const webformIn = flow.find((n) => n.type === 'os2-webform-in')!;
    const validate = flow.find((n) => n.type === 'os2-validate')!;
    assert.deepEqual(validate.wires.length, 2);
    // the debug nodes become helper nodes so the test can see what reaches them; the editor puts imported
    // nodes on a tab (nodes with x/y but no z are not started), so do that here too
    for (const n of flow) {
      if (n.type === 'debug') n.type = 'helper';
      n.z = 'tab';
    }
    flow.unshift({ id: 'tab', type: 'tab' });
    let RED!: NodeAPI;
    const withRed = (r: NodeAPI) => {
      RED = r;
      return webformInNode(r);
    };
    await helper.load([withRed, validateNode] as never, flow.filter((n) => n.type !== 'comment') as never, { [webformIn.id]: { secret: 'hemmelig' } } as never);
    const valid: any[] = [];
    const invalid: any[] = [];
    helper.getNode(validate.wires[0][0]).on('input', (m: any) => valid.push(m));
    helper.getNode(validate.wires[1][0]).on('input', (m: any) => invalid.push(m));
    const post = (body: object) =>
      request(RED.httpNode)
        .post(webformIn.path)
        .set('x-webform-secret', 'hemmelig')
        .send(body)
        .expect((r) => assert.ok(r.status < 300, String(r.status)));
    await post({
      uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f',
      webform_id: 'test',
      fornavn: 'Åse',
      efternavn: 'Ærø',
      cpr: '0101901234',
      email: 'aase@example.dk',
      postnummer: '8000',
    });
    await post({ uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e70', webform_id: 'test', fornavn: 'Åse', efternavn: 'Ærø', email: 'ikke-en-mail' });
    const end = Date.now() + 5000;
    while (valid.length + invalid.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.equal(valid.length, 1, JSON.stringify(invalid[0]?.validationErrors));
    assert.equal(invalid.length, 1);
    assert.deepEqual(
      invalid[0].validationErrors.map((e: any) => `${e.path}: ${e.message}`),
      ['data.cpr: skal udfyldes', 'data.email: skal være en gyldig e-mailadresse'],
    );
  });
});
