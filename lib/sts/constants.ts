/** KOMBIT STS (SF1514) and the token model: public endpoints and identifiers (sf2900.md §4). */
import { SERVICE_ENTITY_ID } from '../sf2900/namespaces';
import { WSA_ANONYMOUS } from '../signing/constants';
export const STS_URLS = {
  test: 'https://n2adgangsstyring.eksterntest-stoettesystemerne.dk/runtime/services/kombittrust/14/certificatemixed',
  production: 'https://n2adgangsstyring.stoettesystemerne.dk/runtime/services/kombittrust/14/certificatemixed',
} as const;

/** entityID of the Fordelingskomponent (SF2900 v3), the AppliesTo of its token. */
export const FORDELING_ENTITY_ID = SERVICE_ENTITY_ID;

export const STS_NS = {
  wst: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
  wsp: 'http://schemas.xmlsoap.org/ws/2004/09/policy',
  auth: 'http://docs.oasis-open.org/wsfed/authorization/200706',
} as const;

export const WST = {
  issueAction: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue',
  issueRequestType: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
  publicKey: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/PublicKey',
  claimsDialect: 'http://docs.oasis-open.org/wsfed/authorization/200706/authclaims',
  samlV2: 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0',
  cvrClaim: 'dk:gov:saml:attribute:CvrNumberIdentifier',
  anonymous: WSA_ANONYMOUS,
} as const;
