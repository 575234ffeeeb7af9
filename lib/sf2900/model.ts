/**
 * The Fordelingskomponent object: the plain JSON model that `map` produces and
 * `fordeling out` serialises into a FordelingsobjektAfsendRequest (SF2900 v3 wrapper, v2 content).
 *
 * Field names are English and camel-cased; the comment on each names the contract element it becomes.
 * Values are already in the contract's lexical form when they leave `map`
 * (CVR 8 digits, KLE dd.dd.dd, lower-case UUIDs, xs:dateTime with offset).
 */

export type ObjektType = 'JOURNALPOST' | 'DOKUMENT' | 'FORMULAR';

/** Routing (DistributionContext/RoutingMyndighed + RoutingValg). Exactly one of `kle` or `receivingSystemUuid`. */
export interface Routing {
  /** RoutingMyndighed: the receiving authority's CVR (8 digits). */
  receivingAuthorityCvr: string;
  /** RoutingValg/RoutingKLEEmneHandling/RoutingKLEEmne (dd.dd.dd). */
  kle?: string;
  /** RoutingValg/RoutingKLEEmneHandling/RoutingHandlingFacet (letter + 2 digits, e.g. G01). */
  handlingFacet?: string;
  /** RoutingValg/RoutingModtagerAktoer: the receiving IT-system's UUID. */
  receivingSystemUuid?: string;
}

/** DistributionContext, minus what `fordeling out` assigns (AnvenderTransaktionsID, DistributionTransktionsID). */
export interface DistributionContextModel {
  /** AfsendendeMyndighed; when absent, fordeling out takes it from the serviceplatform config. */
  senderAuthorityCvr?: string;
  /** The sending IT-system (Virkning/Aktoer, RegistreringItSystem); default from the serviceplatform config. */
  senderSystemUuid?: string;
  routing: Routing;
  /** DokumentFilNavn: set by fordeling out after the SFTP upload of a DOKUMENT's file. */
  documentFileName?: string;
  /** DigitalPostMeddelelsesID (rarely used). */
  digitalPostMessageId?: string;
}

/** A file that travels by SFTP (DOKUMENT's file, or an attachment of FORMULAR/JOURNALPOST). */
export interface FileRef {
  /** The webform element the file came from. */
  element?: string;
  /** The citizen's original file name: data only, never a path. */
  name: string;
  mime?: string;
  size?: number;
  /** Content in memory (push with file data), or ... */
  content?: Buffer;
  /** ... a URL to fetch it from (OS2forms REST API), or ... */
  url?: string;
  /** ... a local file path chosen by the flow (not by the citizen). */
  path?: string;
  /** What the file is to the receiver, e.g. Overslag, Faktura, Bilag (form XML Header/Dokumenter/Dokumenttype). */
  role?: string;
  /** SFTP file specification (Trigger InfRef) for this file; default the object's fileSpecification. */
  fileSpecification?: string;
  /** The contract-compliant SFTP name; assigned by fordeling out before upload (form XML Dokumentnavn). */
  sftpName?: string;
}

/** DistributionJournalPost content. */
export interface JournalpostContent {
  /** JournalnotatAttributter/Titel. */
  noteTitle?: string;
  /** JournalnotatAttributter/Notat (required). */
  noteText: string;
  /** JournalpostAttributter/Dokumenttitel. */
  documentTitle?: string;
  /** SagForslag (case UUID). */
  caseProposal?: string;
  /** PartAngivelse. */
  party?: {
    objectType: 'Person' | 'Virksomhed' | 'Organisation' | 'OrgEnhed' | 'OrgFunktion' | 'Interesse-faellesskab' | 'Bruger';
    reference: { uuid?: string; urn?: string; text?: string };
  };
}

/** DistributionDokument content (the file itself goes by SFTP; its name goes in DokumentFilNavn). */
export interface DokumentContent {
  /** Attributter/BrugervendtNoegleTekst. */
  userKey: string;
  /** Attributter/TitelTekst. */
  title: string;
  /** Attributter/BeskrivelseTekst. */
  description: string;
  /** Attributter/Dokumenttype: Faktura|Brev|Notat|Rapport|Dagsorden|Refereat|eMail|Anden. */
  documentType: string;
  /** Attributter/Retning: Indgaaende|Udgaaende|InterntInd|InterntUd|Internt. */
  direction: string;
  /** Attributter/Brevdato (YYYY-MM-DD). */
  letterDate: string;
  /** Tilstand/Fremdrift: Modtaget|Fordelt|UnderUdarbejdelse|UnderReview|Endeligt|Afleveret. */
  progress: string;
  /** VariantAttributter/VariantType, e.g. PDF. */
  variantType: string;
  /** DelAttributter/DelTekst, e.g. "Hele dokumentet". */
  partText: string;
  caseProposal?: string;
  /** The document's file (must also be listed in `files`). */
  file: FileRef;
}

/** DistributionFormular content. */
export interface FormularContent {
  /** Meddelelse/FormularType, agreed with the receiver, e.g. HelbredstillægAnsøgningFormular_1. */
  formType: string;
  /** Formular/TitelTekst (ITK: the PDF's file name). */
  title: string;
  /** Formular/FormatNavn (ITK: the PDF's extension, e.g. pdf). */
  formatName: string;
  /** Formular/FormularIndhold: the PDF rendering, base64. */
  pdfBase64: string;
  /** Formular/FormularXML: the structured form XML, one root element, no XML declaration. */
  formXml: string;
}

export interface FordelingsObject {
  objektType: ObjektType;
  /** The OS2forms submission uuid this object came from (fordeling out derives AnvenderTransaktionsID from it). */
  submissionId: string;
  /** The webform id (for the ledger and the overview). */
  webformId?: string;
  /** The submission's revision when a changed submission is sent again as a new shipment (Submission.submission.revision). */
  revision?: number;
  /** Object ID (DistributionJournalPost/ID etc.); fordeling out derives one from the submission when absent. */
  id?: string;
  context: DistributionContextModel;
  /** KLEEmneForslag; default routing.kle. */
  kleProposal?: string;
  /** HandlingFacetForslag; default routing.handlingFacet. */
  handlingFacetProposal?: string;
  /** Registrering/FraTidsPunkt (xs:dateTime with offset); default the time of mapping. */
  registeredAt?: string;
  /** Default SFTP file specification (Trigger InfRef) for files, e.g. HelbredstillægAnsøgningBilag_1. */
  fileSpecification?: string;
  journalpost?: JournalpostContent;
  dokument?: DokumentContent;
  formular?: FormularContent;
  /** Files that go along by SFTP. */
  files: FileRef[];
}

/** The normalised submission that `webform in` emits as msg.payload. */
export interface Submission {
  webform: { id: string };
  submission: {
    sid?: string;
    uuid: string;
    created?: string;
    completed?: string;
    changed?: string;
    langcode?: string;
    /** True when OS2forms says it is a draft (its `in_draft`). */
    inDraft?: boolean;
    /**
     * Which version of the submission this is when webform in passes a changed submission on as a new shipment (1, 2,
     * …); absent for the first. fordeling out gives each revision its own AnvenderTransaktionsID.
     */
    revision?: number;
  };
  data: Record<string, unknown>;
  files: SubmissionFile[];
}

export interface SubmissionFile {
  element: string;
  name: string;
  mime?: string;
  size?: number;
  content?: Buffer;
  url?: string;
  id?: string;
  uuid?: string;
}

export const CVR_PATTERN = /^[0-9]{8}$/;
export const KLE_PATTERN = /^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$/;
export const HANDLING_FACET_PATTERN = /^[A-ZÆØÅ][0-9]{2}$/;
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
