/** Namespaces, SOAP actions and paths of SF2900 (Fordelingskomponenten) as published in the service contract. */
import { XML_NS } from '../xml/namespaces';

export const NS = {
  /** v3 wrapper types (the Serviceplatform's DistributionService/3 port). */
  v3: 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/types',
  /** v2 content types (DistributionServiceTypesV2.xsd) and the anvender/modtager v2 messages. */
  v2: 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/2/types',
  authorityContext: 'http://serviceplatformen.dk/xml/schemas/AuthorityContext/1/',
  callContext: 'http://serviceplatformen.dk/xml/schemas/CallContext/1/',
  serviceplatformFault: 'http://serviceplatformen.dk/xml/schemas/ServiceplatformFault/1/',
  soap11: XML_NS.soap11,
  soap12: XML_NS.soap12,
} as const;

const PORT = 'http://serviceplatformen.dk/xml/wsdl/soap11/DistributionService/3/port';

export const SOAP_ACTIONS = {
  afsend: `${PORT}/FordelingsobjektAfsend`,
  modtagerList: `${PORT}/FordelingsmodtagerList`,
  modtagerValider: `${PORT}/FordelingsmodtagerValider`,
  kvitteringModtag: `${PORT}/FordelingskvitteringModtag`,
  /** The sender's own endpoint (DistributionServiceAnvenderV2.wsdl) declares soapAction="". */
  anvenderKvitteringModtag: '',
} as const;

/** Path of the Serviceplatform's DistributionService/3 endpoint. */
export const SERVICE_PATH = '/service/SP/Distribution/3';

export const ENDPOINTS = {
  test: 'https://exttest.serviceplatformen.dk',
  production: 'https://prod.serviceplatformen.dk',
} as const;

/** The service's entityID from the contract's sp/service.properties. */
export const SERVICE_ENTITY_ID = 'http://sp.serviceplatformen.dk/service/fordeling/3';

/** Content type of SOAP 1.1 messages. */
export const SOAP11_CONTENT_TYPE = 'text/xml; charset=utf-8';
