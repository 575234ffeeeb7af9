/** The public W3C and OASIS namespaces the project reads and writes (SOAP, XMLDSig, WS-Security, WS-Addressing, SAML). */
export const XML_NS = {
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  wsse: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
  wsu: 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd',
  wsse11: 'http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd',
  soap11: 'http://schemas.xmlsoap.org/soap/envelope/',
  soap12: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://www.w3.org/2005/08/addressing',
  liberty: 'urn:liberty:sb:2006-08',
  saml2: 'urn:oasis:names:tc:SAML:2.0:assertion',
  xmlns: 'http://www.w3.org/2000/xmlns/',
} as const;
