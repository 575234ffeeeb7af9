/** Namespaces and algorithm identifiers used by the signing code (public W3C / OASIS identifiers). */
import { XML_NS } from '../xml/namespaces';
/** One table of W3C/OASIS namespaces for the whole project (lib/xml/namespaces.ts). */
export const NS = XML_NS;

export const ALG = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha512: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  c14n: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
} as const;

export const WSS = {
  base64Binary: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary',
  x509v3: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3',
  saml2TokenType: 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0',
  samlId: 'http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLID',
} as const;

/** WS-Addressing's anonymous address (ReplyTo of a request answered on the same connection). */
export const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';

/** WS-Addressing headers that a WS-Security signature covers when present (the token policy's SignedParts). */
export const WSA_HEADERS = ['MessageID', 'RelatesTo', 'Action', 'To', 'From', 'ReplyTo', 'FaultTo'] as const;
