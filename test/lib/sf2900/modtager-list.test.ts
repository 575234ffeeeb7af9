import * as assert from 'assert';
import { XMLSerializer } from '@xmldom/xmldom';
import { buildModtagerListRequest, buildModtagerListResponse, parseModtagerListRequest, parseModtagerListResponse } from '../../../lib/sf2900/modtager-list';
import {
  buildModtagerValiderRequest,
  buildModtagerValiderResponse,
  parseModtagerValiderRequest,
  parseModtagerValiderResponse,
} from '../../../lib/sf2900/modtager-valider';
import { NS } from '../../../lib/sf2900/namespaces';
import { parseSoapBody, soapEnvelope } from '../../../lib/sf2900/soap';
import type { XsdSchema } from '../../../lib/xml/xsd';
import { KP_CVR, msgXsd, SENDER_CVR, SYSTEM_UUID } from './fixtures';

const bodyOf = (env: string) => new XMLSerializer().serializeToString(parseSoapBody(env));

describe('lib/sf2900 modtager-list / modtager-valider', () => {
  let schema: XsdSchema;
  before(async () => {
    schema = await msgXsd();
  });

  it('FordelingsmodtagerList request validates and round-trips', () => {
    const xml = buildModtagerListRequest({ senderCvr: SENDER_CVR, routingCvr: KP_CVR, kle: '32.03.12', handlingFacet: 'G01' });
    assert.ok(schema.validate(xml).valid, JSON.stringify(schema.validate(xml).errors));
    assert.deepStrictEqual(parseModtagerListRequest(parseSoapBody(soapEnvelope(xml))), {
      authorityCvr: SENDER_CVR,
      senderCvr: SENDER_CVR,
      routingCvr: KP_CVR,
      kle: '32.03.12',
      handlingFacet: 'G01',
    });
    assert.throws(() => buildModtagerListRequest({ senderCvr: SENDER_CVR, routingCvr: KP_CVR, kle: '32' }), /KLE subject "32"/);
  });

  it('FordelingsmodtagerList response validates and parses', () => {
    const env = buildModtagerListResponse([{ authorityCvr: KP_CVR, systemUuid: SYSTEM_UUID, systemName: 'KP & co', kle: '32.03.12', handlingFacet: 'G01' }]);
    assert.ok(schema.validate(bodyOf(env)).valid);
    assert.deepStrictEqual(parseModtagerListResponse(env), [
      { authorityCvr: KP_CVR, systemUuid: SYSTEM_UUID, systemName: 'KP & co', kle: '32.03.12', handlingFacet: 'G01' },
    ]);
    assert.deepStrictEqual(parseModtagerListResponse(buildModtagerListResponse([])), []);
  });

  it('tolerates the schema-breaking answer seen in the wild (wildcard KLE, no SystemMyndighed, upper-case UUID)', () => {
    const env = soapEnvelope(
      `<ns3:FordelingsmodtagerListResponse xmlns:ns3="${NS.v3}" xmlns:ns2="${NS.v2}"><ns3:Systemer><ns2:System>` +
        `<ns2:SystemUUID>${SYSTEM_UUID.toUpperCase()}</ns2:SystemUUID><ns2:SystemNavn>KP</ns2:SystemNavn><ns2:RoutingKLEEmne>01.01.*</ns2:RoutingKLEEmne>` +
        `</ns2:System></ns3:Systemer></ns3:FordelingsmodtagerListResponse>`,
    );
    assert.deepStrictEqual(parseModtagerListResponse(env), [{ systemUuid: SYSTEM_UUID, systemName: 'KP', kle: '01.01.*' }]);
  });

  it('FordelingsmodtagerValider request and response validate and round-trip', () => {
    const xml = buildModtagerValiderRequest({ senderCvr: SENDER_CVR, routings: [{ routingCvr: KP_CVR, receivingSystemUuid: SYSTEM_UUID }] });
    assert.ok(schema.validate(xml).valid, JSON.stringify(schema.validate(xml).errors));
    const q = parseModtagerValiderRequest(parseSoapBody(soapEnvelope(xml)));
    assert.deepStrictEqual(q, { authorityCvr: SENDER_CVR, senderCvr: SENDER_CVR, routings: [{ routingCvr: KP_CVR, receivingSystemUuid: SYSTEM_UUID }] });
    const env = buildModtagerValiderResponse([{ routingCvr: KP_CVR, receivingSystemUuid: SYSTEM_UUID, canReceive: true }]);
    assert.ok(schema.validate(bodyOf(env)).valid);
    assert.deepStrictEqual(parseModtagerValiderResponse(env), [{ routingCvr: KP_CVR, receivingSystemUuid: SYSTEM_UUID, canReceive: true }]);
    assert.throws(() => buildModtagerValiderRequest({ senderCvr: SENDER_CVR, routings: [] }), /at least one routing/);
  });
});
