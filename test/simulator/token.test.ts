import * as assert from 'assert';
import * as https from 'https';
import { X509Certificate } from 'crypto';
import { DOMParser } from '@xmldom/xmldom';
import { createSimulator, type Simulator } from '../../simulator';
import { testCerts, type SimulatorCerts } from '../support/certs';
import { AFSEND_OPTS, journalpost } from '../lib/sf2900/fixtures';
import { buildAfsendRequest, parseAfsendResponse } from '../../lib/sf2900/afsend';
import { SOAP_ACTIONS } from '../../lib/sf2900/namespaces';
import { parseSoapBody, SoapFaultError, soapEnvelope } from '../../lib/sf2900/soap';
import { loadSigningKey, type SigningKey } from '../../lib/signing/keys';
import { NS } from '../../lib/signing/constants';
import { verifyXmlSignature } from '../../lib/signing/verify';
import { buildIssueRequest, buildTokenEnvelope, FORDELING_ENTITY_ID, requestToken, StsError, type IssuedToken } from '../../lib/sts';
import { DeliveryError } from '../../lib/delivery/errors';
import { isTokenRejection, stsDeliveryError } from '../../lib/delivery/token-security';
import { makeAssertion } from '../lib/sts/fake-sts';

describe('simulator: token model (STS and token endpoint)', function () {
  this.timeout(30_000);
  let certs: SimulatorCerts;
  let sim: Simulator;
  let client: SigningKey;

  before(async function () {
    this.timeout(60_000);
    certs = await testCerts();
    sim = await createSimulator({ certs });
    client = loadSigningKey({ keyPem: certs.client.key, certPem: certs.client.cert });
  });
  after(() => sim.close());

  const fetchToken = (key = client, over: { appliesTo?: string; cvr?: string } = {}): Promise<IssuedToken> =>
    requestToken({
      stsUrl: sim.stsUrl,
      appliesTo: over.appliesTo ?? FORDELING_ENTITY_ID,
      cvr: over.cvr ?? certs.client.cvr,
      key,
      stsPins: sim.stsCert,
      ca: [sim.ca],
      timeoutMs: 5000,
    });

  function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method: 'POST', ca: sim.ca, agent: false, headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  const send = (envelope: string) => post(sim.tokenServiceUrl, envelope, { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: `"${SOAP_ACTIONS.afsend}"` });
  const afsendBody = () => buildAfsendRequest(journalpost(), AFSEND_OPTS);
  const tokenEnvelope = (token: IssuedToken, key = client) =>
    buildTokenEnvelope(key, { bodyXml: afsendBody(), action: SOAP_ACTIONS.afsend, to: sim.tokenServiceUrl, token });
  function platformFault(reply: { status: number; body: string }): SoapFaultError {
    assert.strictEqual(reply.status, 500, reply.body);
    try {
      parseSoapBody(reply.body);
    } catch (err) {
      assert.ok(err instanceof SoapFaultError);
      return err;
    }
    return assert.fail('no fault');
  }

  describe('STS', () => {
    it('issues a signed SAML 2.0 holder-of-key assertion for the caller, with the CVR claim, audience and NotOnOrAfter', async () => {
      const before = sim.token.stats.issued;
      const t = await fetchToken();
      assert.strictEqual(sim.token.stats.issued - before, 1);
      const a = new DOMParser().parseFromString(t.assertionXml, 'text/xml');
      const text = (name: string) => a.getElementsByTagNameNS(NS.saml2, name)[0]?.textContent;
      assert.strictEqual(text('Audience'), FORDELING_ENTITY_ID);
      assert.strictEqual(text('AttributeValue'), certs.client.cvr);
      assert.strictEqual(a.getElementsByTagNameNS(NS.saml2, 'Attribute')[0].getAttribute('Name'), 'dk:gov:saml:attribute:CvrNumberIdentifier');
      assert.strictEqual(a.getElementsByTagNameNS(NS.saml2, 'SubjectConfirmation')[0].getAttribute('Method'), 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key');
      const confirmation = a.getElementsByTagNameNS(NS.saml2, 'SubjectConfirmationData')[0];
      assert.strictEqual(confirmation.getElementsByTagNameNS(NS.ds, 'X509Certificate')[0].textContent, client.certBase64, 'holder-of-key = the caller');
      assert.ok(Math.abs(t.notOnOrAfter.getTime() - (Date.now() + 8 * 3600_000)) < 10_000);
      const sig = verifyXmlSignature(t.assertionXml, { pins: sim.stsCert, mode: 'enveloped' });
      assert.strictEqual(sig.valid, true, sig.reason);
      assert.strictEqual(new X509Certificate(sim.stsCert).checkIssued(new X509Certificate(certs.ca.cert)), true, 'the STS key is made by simulator/certs.ts');
    });

    it('refuses an unknown certificate, unless it is in the configured list', async () => {
      const stranger = loadSigningKey({ keyPem: certs.otherClient.key, certPem: certs.otherClient.cert });
      await assert.rejects(
        fetchToken(stranger),
        (e: Error) => e instanceof StsError && /The certificate is not registered/.test(e.message) && e.code === 'wst:FailedAuthentication',
      );
      sim.token.clients.push(certs.otherClient.cert);
      try {
        const t = await fetchToken(stranger);
        assert.match(t.assertionXml, new RegExp(stranger.certBase64.slice(0, 60).replace(/[+/]/g, '\\$&')));
      } finally {
        sim.token.clients.pop();
      }
    });

    it("refuses another service entityID, a CVR that is not the certificate's and a tampered request", async () => {
      await assert.rejects(fetchToken(client, { appliesTo: 'http://sp.serviceplatformen.dk/service/other/1' }), /No service with entityID/);
      await assert.rejects(fetchToken(client, { cvr: '87654321' }), /may not act for CVR 87654321/);
      const signed = buildIssueRequest(client, { stsUrl: sim.stsUrl, appliesTo: FORDELING_ENTITY_ID, cvr: certs.client.cvr });
      const reply = await post(sim.stsUrl, signed.replace(FORDELING_ENTITY_ID, 'http://sp.serviceplatformen.dk/service/fordeling/4'), {
        'Content-Type': 'application/soap+xml; charset=utf-8',
      });
      assert.strictEqual(reply.status, 500);
      assert.match(reply.body, /signature is not valid: .*digest/);
    });
  });

  describe('token endpoint', () => {
    it('accepts a proper request and handles FordelingsobjektAfsend as in the certificate model (no TLS client certificate needed)', async () => {
      const reply = await send(tokenEnvelope(await fetchToken()));
      assert.strictEqual(reply.status, 200, reply.body);
      const r = parseAfsendResponse(reply.body);
      assert.strictEqual(r.receipt.code, 'MODTAGET');
      assert.ok(sim.shipments.has(AFSEND_OPTS.transactionId.toLowerCase()));
    });

    it("refuses a request without a token, an assertion from another STS, a replay and a sender CVR other than the token's", async () => {
      let f = platformFault(await send(soapEnvelope(afsendBody())));
      assert.match(f.faultString, /expected exactly one wsse:Security header/);
      assert.deepStrictEqual(
        f.platformErrors?.map((e) => e.code),
        ['TOKEN'],
      );

      const rogue = loadSigningKey({ keyPem: certs.otherCa.key, certPem: certs.otherCa.cert });
      const forged: IssuedToken = {
        assertionXml: makeAssertion({
          stsKey: rogue,
          holderCertBase64: client.certBase64,
          cvr: certs.client.cvr,
          audience: FORDELING_ENTITY_ID,
          notOnOrAfter: new Date(Date.now() + 3600_000),
        }),
        assertionId: 'x',
        notOnOrAfter: new Date(Date.now() + 3600_000),
      };
      forged.assertionId = /ID="([^"]+)"/.exec(forged.assertionXml)![1];
      f = platformFault(await send(tokenEnvelope(forged)));
      assert.match(f.faultString, /SAML assertion: the signing certificate is not one of the pinned/);

      const envelope = tokenEnvelope(await fetchToken());
      assert.strictEqual((await send(envelope)).status, 200);
      f = platformFault(await send(envelope));
      assert.match(f.faultString, /Replayed request/);
      assert.deepStrictEqual(
        f.platformErrors?.map((e) => e.code),
        ['REPLAY'],
      );

      const other = buildAfsendRequest(journalpost(), { ...AFSEND_OPTS, senderCvr: '87654321' });
      const t = await fetchToken();
      f = platformFault(await send(buildTokenEnvelope(client, { bodyXml: other, action: SOAP_ACTIONS.afsend, to: sim.tokenServiceUrl, token: t })));
      assert.match(f.faultString, /AuthorityContext CVR 87654321 does not match/);
    });
  });

  describe('client side classification', () => {
    it('a token/signature refusal is renewable; a business refusal, an STS failure and a network error are not', () => {
      const fault = (reason: string, code = 'SOAP_CLIENT', errors: Array<{ code: string; text: string }> = []) =>
        new DeliveryError({ class: 'permanent', code, reason, errors });
      assert.strictEqual(
        isTokenRejection(fault('SOAP Client fault: The security token or message signature was refused: the SAML assertion has expired')),
        true,
      );
      assert.strictEqual(isTokenRejection(fault('SOAP Client fault: x', 'SOAP_CLIENT', [{ code: 'TOKEN', text: 'x' }])), true);
      assert.strictEqual(isTokenRejection(new DeliveryError({ class: 'permanent', code: 'HTTP_401', reason: 'HTTP 401', errors: [], httpStatus: 401 })), true);
      assert.strictEqual(isTokenRejection(fault('Rejected by the Serviceplatform (TransportKvittering FEJL): already been received', 'FEJL')), false);
      assert.strictEqual(isTokenRejection(fault('No security token from the STS: refused', 'STS')), false);
      assert.strictEqual(
        isTokenRejection(new DeliveryError({ class: 'transient', code: 'ECONNRESET', reason: 'Network error: socket hang up (token)', errors: [] })),
        false,
      );
      assert.strictEqual(stsDeliveryError(new StsError('the STS could not be reached: ECONNREFUSED')).class, 'transient');
      assert.strictEqual(stsDeliveryError(new StsError('the STS did not answer within 5000 ms')).class, 'transient');
      const refused = stsDeliveryError(new StsError('the STS refused the token request: unknown', 'wst:FailedAuthentication'));
      assert.strictEqual(refused.class, 'permanent');
      assert.strictEqual(refused.code, 'STS');
      assert.deepStrictEqual(refused.errors, [{ code: 'wst:FailedAuthentication', text: 'the STS refused the token request: unknown' }]);
    });
  });
});
