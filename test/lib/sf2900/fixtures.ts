/** Sample FordelingsObjects of each type and helpers to read the official contract (never copied). */
import * as fs from 'fs';
import * as path from 'path';
import type { FordelingsObject } from '../../../lib/sf2900/model';
import { loadXsd, type XsdSchema } from '../../../lib/xml/xsd';

export const contractDir = (): string => process.env.SF2900_CONTRACT_DIR as string;
export const msgXsd = (): Promise<XsdSchema> => loadXsd(path.join(contractDir(), 'contract', 'DistributionServiceMsg.xsd'));
export const msgV2Xsd = (): Promise<XsdSchema> => loadXsd(path.join(contractDir(), 'contract', 'SF2900_EP_MS1-2', 'DistributionServiceMsgV2.xsd'));
export const sp241Xml = (): string => fs.readFileSync(path.join(contractDir(), 'forms', 'SP241.xml'), 'utf8');

export const SENDER_CVR = '12345678';
export const SYSTEM_UUID = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
export const TX_ID = 'a3bb189e-8bf9-3888-9912-ace4e6543002';
export const KP_CVR = '14814833';

export const PDF_BASE64 = Buffer.from('%PDF-1.4\n% test\n').toString('base64');

function base(): Omit<FordelingsObject, 'objektType'> {
  return {
    submissionId: '5c1e2f3a-0000-4000-8000-000000000001',
    webformId: 'helbredstillaeg',
    context: { routing: { receivingAuthorityCvr: KP_CVR, kle: '32.03.12', handlingFacet: 'G01' } },
    registeredAt: '2026-04-24T10:11:12+02:00',
    files: [],
  };
}

export function journalpost(): FordelingsObject {
  return {
    ...base(),
    objektType: 'JOURNALPOST',
    journalpost: { noteTitle: 'Ansøgning modtaget', noteText: 'Borger har søgt om helbredstillæg & tandbehandling <hastesag>', documentTitle: 'Ansøgning' },
  };
}

export function dokument(): FordelingsObject {
  const file = { name: 'bilag.pdf', mime: 'application/pdf', size: 1234, sftpName: 'os2forms_fordeling_1_5c1e2f3a_bilag.pdf' };
  return {
    ...base(),
    objektType: 'DOKUMENT',
    dokument: {
      userKey: 'sub-42',
      title: 'Bilag til ansøgning',
      description: 'Lægeerklæring',
      documentType: 'Anden',
      direction: 'Udgaaende',
      letterDate: '2026-04-24',
      progress: 'Endeligt',
      variantType: 'PDF',
      partText: 'Hele dokumentet',
      file,
    },
    files: [file],
  };
}

export function formular(formXml = sp241Xml()): FordelingsObject {
  return {
    ...base(),
    objektType: 'FORMULAR',
    formular: { formType: 'HelbredstillægAnsøgningFormular_1', title: 'ansoegning.pdf', formatName: 'pdf', pdfBase64: PDF_BASE64, formXml },
  };
}

export const AFSEND_OPTS = { transactionId: TX_ID, senderCvr: SENDER_CVR, senderSystemUuid: SYSTEM_UUID };
