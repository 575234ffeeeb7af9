/**
 * FordelingsobjektAfsend: the request a sender posts to the Serviceplatform (v3 wrapper, v2 content)
 * and the synchronous response (ForretningsKvittering + DistributionContext with DistributionTransktionsID).
 */
import { XMLSerializer, type Element } from '@xmldom/xmldom';
import { parseXmlSafely, XmlError } from '../xml/safe-xml';
import { child, childOf, childElements, childText, descendant } from '../xml/dom';
import { CVR_PATTERN, HANDLING_FACET_PATTERN, KLE_PATTERN, UUID_PATTERN, type FordelingsObject, type ObjektType } from './model';
import { NS } from './namespaces';
import {
  distributionContextContentXml,
  el,
  kvitteringContentXml,
  parseDistributionContext,
  parseKvittering,
  type DistributionContextData,
  type Kvittering,
  type ParsedDistributionContext,
} from './parts';
import { parseSoapBody, soapEnvelope } from './soap';
import { objectIdFor } from './transaction-id';

/** The object cannot be serialised as a valid request (a permanent error: resending will not help). */
export class AfsendInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AfsendInputError';
  }
}

export interface AfsendOptions {
  /** AnvenderTransaktionsID (lower-case UUID, see transactionIdFor). */
  transactionId: string;
  /** The sending authority's CVR: AuthorityContext/MunicipalityCVR (must match the TLS client certificate). */
  senderCvr: string;
  /** The sending IT-system's UUID (RegistreringItSystem, Virkning/Aktoer) unless the object names one. */
  senderSystemUuid: string;
  /** Clock for defaults (Registrering/FraTidsPunkt, Brevdato). */
  now?: Date;
}

const DOKUMENTTYPER = ['Faktura', 'Brev', 'Notat', 'Rapport', 'Dagsorden', 'Refereat', 'eMail', 'Anden'];
const RETNINGER = ['Indgaaende', 'Udgaaende', 'InterntInd', 'InterntUd', 'Internt'];
const FREMDRIFTER = ['Modtaget', 'Fordelt', 'UnderUdarbejdelse', 'UnderReview', 'Endeligt', 'Afleveret'];
const PART_TYPES = ['Person', 'Virksomhed', 'Organisation', 'OrgEnhed', 'OrgFunktion', 'Interesse-faellesskab', 'Bruger'];
const URN_PATTERN = /^[uU][rR][nN]:[a-zA-Z0-9][a-zA-Z0-9-]{0,30}[a-zA-Z0-9]:[a-zA-Z0-9()+,\\\-.:=@;$_!*'%/?#]+$/;
const DATETIME_PATTERN = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
/** Base64 alphabet with at most two trailing '='; the length is checked separately (a grouped pattern is 7× slower on MBs). */
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

function check(cond: boolean, message: string): void {
  if (!cond) throw new AfsendInputError(message);
}

function need(value: string | undefined, name: string, pattern?: RegExp, hint?: string): string {
  check(typeof value === 'string' && value.trim() !== '', `${name} is required`);
  const v = (value as string).trim();
  if (pattern) check(pattern.test(v), `${name} "${v}" is not valid${hint ? ` (${hint})` : ''}`);
  return v;
}

function optional(value: string | undefined, name: string, pattern: RegExp, hint: string): string | undefined {
  if (value === undefined || value === null || String(value).trim() === '') return undefined;
  return need(String(value), name, pattern, hint);
}

function oneOf(value: string | undefined, name: string, allowed: string[], fallback: string): string {
  const v = value === undefined || value === '' ? fallback : value;
  check(allowed.includes(v), `${name} "${v}" is not one of ${allowed.join(', ')}`);
  return v;
}

/** YYYY-MM-DD in Danish local time. */
function danishDate(d: Date): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Copenhagen' }).format(d);
}

const v2 = (name: string, value: unknown, opt = false) => el('v2', name, value, opt);
const wrap = (name: string, inner: string) => `<v2:${name}>${inner}</v2:${name}>`;

/** One Virkning, always written inline (shared Virkning objects became SOAP multi-refs in PHP, which SP rejects). */
function virkning(from: string, systemUuid: string): string {
  return wrap('Virkning', v2('FraTidspunkt', from) + wrap('Aktoer', v2('UUID', systemUuid)) + v2('AktoerType', 'ItSystem'));
}

/**
 * The form XML as the single child of FormularXML: parsed safely (no DTD/entities, well-formed, one root),
 * re-serialised without XML declaration; a root in no namespace gets xmlns="" so it can never inherit a default namespace.
 */
export function formularXmlElement(formXml: string): string {
  check(typeof formXml === 'string' && formXml.trim() !== '', 'Formular formXml is required');
  let root: Element;
  try {
    root = parseXmlSafely(formXml, 'FormularXML').documentElement as unknown as Element;
  } catch (err) {
    throw new AfsendInputError((err as Error).message);
  }
  let xml = new XMLSerializer().serializeToString(root);
  if (!root.namespaceURI && !root.hasAttribute('xmlns')) {
    xml = `<${root.tagName} xmlns=""${xml.slice(root.tagName.length + 1)}`;
  }
  return xml;
}

interface Common {
  id: string;
  kle: string;
  facet?: string;
  from: string;
  system: string;
}

function journalpostXml(obj: FordelingsObject, c: Common): string {
  const j = obj.journalpost;
  check(!!j, 'objektType JOURNALPOST needs journalpost content');
  const jp = j!;
  const note = need(jp.noteText, 'journalpost.noteText (Notat)');
  let part = '';
  if (jp.party) {
    const type = oneOf(jp.party.objectType, 'journalpost.party.objectType', PART_TYPES, '');
    const ref = jp.party.reference ?? {};
    let refXml: string;
    if (ref.uuid) refXml = v2('UUID', need(ref.uuid, 'journalpost.party.reference.uuid', UUID_PATTERN, 'UUID'));
    else if (ref.urn) refXml = v2('URN', need(ref.urn, 'journalpost.party.reference.urn', URN_PATTERN, 'URN'));
    else refXml = v2('Tekst', need(ref.text, 'journalpost.party.reference (uuid, urn or text)'));
    part = wrap('PartAngivelse', v2('ObjektType', type) + wrap('ReferenceID', refXml));
  }
  const attrs = jp.documentTitle ? wrap('JournalpostAttributter', v2('Dokumenttitel', jp.documentTitle)) : '';
  const post =
    virkning(c.from, c.system) +
    v2('Rolle', 'Journalpost') +
    v2('Indeks', '1') +
    attrs +
    wrap('JournalnotatAttributter', v2('Titel', jp.noteTitle, true) + v2('Notat', note));
  const sag = optional(jp.caseProposal, 'journalpost.caseProposal', UUID_PATTERN, 'UUID');
  return registeredObject('DistributionJournalPost', c, sag, part, wrap('RelationListe', wrap('JournalPost', post)));
}

/**
 * A JOURNALPOST or DOKUMENT: ID, the KLE/facet/case proposals, what comes before the registration, and one
 * registration (created now by the sending IT-system) holding `registered`.
 */
function registeredObject(element: string, c: Common, caseProposal: string | undefined, before: string, registered: string): string {
  return wrap(
    element,
    v2('ID', c.id) +
      v2('KLEEmneForslag', c.kle) +
      v2('HandlingFacetForslag', c.facet, true) +
      v2('SagForslag', caseProposal, true) +
      before +
      wrap('Registrering', v2('FraTidsPunkt', c.from) + v2('LivscyklusKode', 'Oprettet') + wrap('RegistreringItSystem', v2('UUID', c.system)) + registered),
  );
}

function dokumentXml(obj: FordelingsObject, c: Common, now: Date): string {
  check(!!obj.dokument, 'objektType DOKUMENT needs dokument content');
  const d = obj.dokument!;
  const brevdato = d.letterDate ? need(d.letterDate, 'dokument.letterDate (Brevdato)', DATE_PATTERN, 'YYYY-MM-DD') : danishDate(now);
  const size = d.file?.size;
  const del =
    v2('DelTekst', d.partText || 'Hele dokumentet') +
    (typeof size === 'number' && Number.isInteger(size) && size >= 0 ? v2('Filstoerrelse', String(size)) : '') +
    v2('MimeType', d.file?.mime, true);
  const variant =
    virkning(c.from, c.system) +
    v2('Rolle', 'Variant') +
    v2('Indeks', '1') +
    wrap('VariantAttributter', v2('VariantType', d.variantType || 'PDF')) +
    wrap('DelAttributter', del);
  const attributter =
    v2('BrugervendtNoegleTekst', need(d.userKey, 'dokument.userKey (BrugervendtNoegleTekst)')) +
    v2('TitelTekst', need(d.title, 'dokument.title (TitelTekst)')) +
    v2('BeskrivelseTekst', need(d.description, 'dokument.description (BeskrivelseTekst)')) +
    v2('Dokumenttype', oneOf(d.documentType, 'dokument.documentType (Dokumenttype)', DOKUMENTTYPER, 'Anden')) +
    v2('Retning', oneOf(d.direction, 'dokument.direction (Retning)', RETNINGER, 'Udgaaende')) +
    v2('Brevdato', brevdato) +
    virkning(c.from, c.system);
  const fremdrift = oneOf(d.progress, 'dokument.progress (Fremdrift)', FREMDRIFTER, 'Endeligt');
  return registeredObject(
    'DistributionDokument',
    c,
    optional(d.caseProposal, 'dokument.caseProposal', UUID_PATTERN, 'UUID'),
    '',
    wrap('RelationListe', wrap('VariantListe', wrap('Variant', variant))) +
      wrap('TilstandsListe', wrap('Tilstand', v2('Fremdrift', fremdrift) + virkning(c.from, c.system))) +
      wrap('AttributListe', wrap('Attributter', attributter)),
  );
}

function formularXml(obj: FordelingsObject, c: Common): string {
  check(!!obj.formular, 'objektType FORMULAR needs formular content');
  const f = obj.formular!;
  const raw = String(f.pdfBase64 ?? '');
  const pdf = /\s/.test(raw) ? raw.replace(/\s+/g, '') : raw;
  check(pdf !== '', 'formular.pdfBase64 (FormularIndhold) is required');
  check(pdf.length % 4 === 0 && BASE64_PATTERN.test(pdf), 'formular.pdfBase64 (FormularIndhold) is not valid base64');
  const formular =
    v2('TitelTekst', need(f.title, 'formular.title (TitelTekst)')) +
    v2('FormatNavn', need(f.formatName, 'formular.formatName (FormatNavn)')) +
    // Checked against the base64 alphabet above, so nothing to escape.
    `<v2:FormularIndhold>${pdf}</v2:FormularIndhold>` +
    wrap('FormularXML', formularXmlElement(f.formXml));
  return wrap(
    'DistributionFormular',
    v2('ID', c.id) +
      v2('KLEEmneForslag', c.kle) +
      v2('HandlingFacetForslag', c.facet, true) +
      wrap('Meddelelse', v2('FormularType', need(f.formType, 'formular.formType (FormularType)')) + wrap('Formular', formular)),
  );
}

/** The DistributionContext data of an object about to be sent. */
export function contextFor(obj: FordelingsObject, opts: AfsendOptions): DistributionContextData {
  const r = obj.context?.routing;
  check(!!r, 'context.routing is required');
  const kle = optional(r.kle, 'routing.kle (RoutingKLEEmne)', KLE_PATTERN, 'dd.dd.dd');
  const system = optional(r.receivingSystemUuid, 'routing.receivingSystemUuid (RoutingModtagerAktoer)', UUID_PATTERN, 'UUID');
  check(!!kle !== !!system, 'routing needs exactly one of kle or receivingSystemUuid');
  return {
    transactionId: need(opts.transactionId, 'AnvenderTransaktionsID', UUID_PATTERN, 'UUID').toLowerCase(),
    digitalPostMessageId: obj.context.digitalPostMessageId || undefined,
    senderCvr: need(obj.context.senderAuthorityCvr || opts.senderCvr, 'AfsendendeMyndighed (sender CVR)', CVR_PATTERN, '8 digits'),
    routingCvr: need(r.receivingAuthorityCvr, 'routing.receivingAuthorityCvr (RoutingMyndighed)', CVR_PATTERN, '8 digits'),
    kle,
    handlingFacet: kle ? optional(r.handlingFacet, 'routing.handlingFacet (RoutingHandlingFacet)', HANDLING_FACET_PATTERN, 'letter + 2 digits') : undefined,
    receivingSystemUuid: system?.toLowerCase(),
    documentFileName: obj.context.documentFileName || obj.dokument?.file?.sftpName || undefined,
  };
}

/** The `anmodning` content (DistributionContext + DistributionObject) as v2 elements; xmlns:v2 must be in scope. */
export function anmodningContentXml(obj: FordelingsObject, opts: AfsendOptions): string {
  check(!!obj && typeof obj === 'object', 'The FordelingsObject is missing');
  const type = obj.objektType as ObjektType;
  check(['JOURNALPOST', 'DOKUMENT', 'FORMULAR'].includes(type), `objektType "${String(type)}" is not JOURNALPOST, DOKUMENT or FORMULAR`);
  const now = opts.now ?? new Date();
  const ctx = contextFor(obj, opts);
  if (type === 'DOKUMENT') check(!!ctx.documentFileName, 'DOKUMENT needs the SFTP file name (context.documentFileName or dokument.file.sftpName)');
  const kleRaw = obj.kleProposal || obj.context.routing.kle;
  const common: Common = {
    id: obj.id ? need(obj.id, 'id', UUID_PATTERN, 'UUID').toLowerCase() : objectIdFor(need(obj.submissionId, 'submissionId'), obj.webformId, obj.revision),
    kle: need(kleRaw, 'kleProposal (KLEEmneForslag)', KLE_PATTERN, 'dd.dd.dd'),
    facet: optional(
      obj.handlingFacetProposal || obj.context.routing.handlingFacet,
      'handlingFacetProposal (HandlingFacetForslag)',
      HANDLING_FACET_PATTERN,
      'letter + 2 digits',
    ),
    from: obj.registeredAt ? need(obj.registeredAt, 'registeredAt (FraTidsPunkt)', DATETIME_PATTERN, 'xs:dateTime') : now.toISOString(),
    system: need(obj.context.senderSystemUuid || opts.senderSystemUuid, 'sending IT-system UUID', UUID_PATTERN, 'UUID').toLowerCase(),
  };
  const content = type === 'JOURNALPOST' ? journalpostXml(obj, common) : type === 'DOKUMENT' ? dokumentXml(obj, common, now) : formularXml(obj, common);
  return (
    wrap('DistributionContext', distributionContextContentXml('v2', ctx)) + wrap('DistributionObject', v2('ObjektType', type) + wrap('ObjektIndhold', content))
  );
}

/** The `<v3:FordelingsobjektAfsendRequest>` element (no XML declaration), ready for soapEnvelope(). */
export function buildAfsendRequest(obj: FordelingsObject, opts: AfsendOptions): string {
  const senderCvr = need(opts.senderCvr, 'sender CVR (AuthorityContext/MunicipalityCVR)', CVR_PATTERN, '8 digits');
  return (
    `<v3:FordelingsobjektAfsendRequest xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}" xmlns:ac="${NS.authorityContext}">` +
    `<ac:AuthorityContext>${el('ac', 'MunicipalityCVR', senderCvr)}</ac:AuthorityContext>` +
    `<v3:anmodning>${anmodningContentXml(obj, opts)}</v3:anmodning>` +
    `</v3:FordelingsobjektAfsendRequest>`
  );
}

/**
 * Wraps an expert's complete `anmodning` element (v2 content) into a FordelingsobjektAfsendRequest.
 * The anmodning is parsed safely and re-serialised; its namespace declarations travel with it.
 */
export function buildAfsendRequestFromAnmodning(anmodningXml: string, senderCvr: string): string {
  const cvr = need(senderCvr, 'sender CVR (AuthorityContext/MunicipalityCVR)', CVR_PATTERN, '8 digits');
  let root: Element;
  try {
    root = parseXmlSafely(anmodningXml, 'anmodning').documentElement as unknown as Element;
  } catch (err) {
    throw new AfsendInputError((err as Error).message);
  }
  check(root.localName === 'anmodning', `Expected an <anmodning> element, got <${root.nodeName}>`);
  const inner = childElements(root)
    .map((e) => new XMLSerializer().serializeToString(e))
    .join('');
  check(inner !== '', 'anmodning is empty');
  return (
    `<v3:FordelingsobjektAfsendRequest xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}" xmlns:ac="${NS.authorityContext}">` +
    `<ac:AuthorityContext>${el('ac', 'MunicipalityCVR', cvr)}</ac:AuthorityContext>` +
    `<v3:anmodning>${inner}</v3:anmodning></v3:FordelingsobjektAfsendRequest>`
  );
}

export interface AfsendResponse {
  distributionTransactionId?: string;
  receipt: Kvittering;
  distributionContext: ParsedDistributionContext;
}

/** Reads the synchronous answer; throws SoapFaultError for a fault, XmlError for anything else unexpected. */
export function parseAfsendResponse(envelopeXml: string): AfsendResponse {
  return readAfsendResponse(parseSoapBody(envelopeXml));
}

/** The same, from the SOAP body's first element already parsed (the answer is parsed once per send). */
export function readAfsendResponse(body: Element): AfsendResponse {
  if (body.localName !== 'FordelingsobjektAfsendResponse') {
    throw new XmlError(`Expected FordelingsobjektAfsendResponse, got <${body.nodeName}>`);
  }
  const kv = childOf(body, 'ForretningsKvittering', 'Forretningskvittering');
  const ctx = parseDistributionContext(child(body, 'DistributionContext'));
  return { distributionTransactionId: ctx.distributionTransactionId, receipt: parseKvittering(kv), distributionContext: ctx };
}

/** What the platform (the simulator) reads from a FordelingsobjektAfsendRequest element. */
export interface AfsendRequestInfo {
  authorityCvr?: string;
  context: ParsedDistributionContext;
  objektType?: string;
  objectId?: string;
  kleProposal?: string;
  formularType?: string;
}

export function parseAfsendRequest(request: Element): AfsendRequestInfo {
  const anmodning = child(request, 'anmodning');
  const obj = child(anmodning, 'DistributionObject');
  const content = childElements(child(obj, 'ObjektIndhold'))[0];
  return {
    authorityCvr: childText(child(request, 'AuthorityContext'), 'MunicipalityCVR'),
    context: parseDistributionContext(child(anmodning, 'DistributionContext')),
    objektType: childText(obj, 'ObjektType'),
    objectId: childText(content, 'ID'),
    kleProposal: childText(content, 'KLEEmneForslag'),
    formularType: childText(descendant(content, 'Meddelelse'), 'FormularType'),
  };
}

/** The whole envelope of a FordelingsobjektAfsendResponse. */
export function buildAfsendResponse(r: { receipt: Kvittering; context: DistributionContextData }): string {
  return soapEnvelope(
    `<v3:FordelingsobjektAfsendResponse xmlns:v3="${NS.v3}" xmlns:v2="${NS.v2}">` +
      `<v3:ForretningsKvittering>${kvitteringContentXml('v2', r.receipt)}</v3:ForretningsKvittering>` +
      `<v3:DistributionContext>${distributionContextContentXml('v2', r.context)}</v3:DistributionContext>` +
      `</v3:FordelingsobjektAfsendResponse>`,
  );
}
