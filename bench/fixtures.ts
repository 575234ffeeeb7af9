/** A submission-sized JSON Schema and a valid submission for it, shared by the validate and map benches. */
export const SCHEMA = {
  type: 'object',
  required: ['webform', 'submission', 'data'],
  properties: {
    webform: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1 } } },
    submission: {
      type: 'object',
      required: ['uuid'],
      properties: { uuid: { type: 'string', format: 'uuid' }, created: { type: 'string', format: 'date-time' } },
    },
    data: {
      type: 'object',
      required: ['fornavn', 'efternavn', 'cpr', 'email', 'adresse'],
      properties: {
        fornavn: { type: 'string', minLength: 1, maxLength: 100 },
        efternavn: { type: 'string', minLength: 1, maxLength: 100 },
        cpr: { type: 'string', format: 'cpr' },
        email: { type: 'string', format: 'email' },
        telefon: { type: 'string', pattern: '^\\+?[0-9 ]{8,15}$' },
        adresse: {
          type: 'object',
          required: ['address', 'postal_code', 'city'],
          properties: { address: { type: 'string' }, postal_code: { type: 'string', pattern: '^[0-9]{4}$' }, city: { type: 'string' } },
        },
        udgiftstype: { type: 'array', maxItems: 10, items: { enum: ['tandbehandling', 'fodbehandling', 'briller', 'medicin'] } },
        beloeb: { type: 'number', minimum: 0, maximum: 1_000_000 },
        beskrivelse: { type: 'string', maxLength: 5000 },
        samtykke: { const: '1' },
        dato: { type: 'string', format: 'date' },
      },
    },
    files: { type: 'array', maxItems: 20, items: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, mime: { type: 'string' } } } },
  },
};

export const VALID = {
  webform: { id: 'helbredstillaeg_sp241' },
  submission: { uuid: '5c1e8a34-7f0b-4d7a-9a40-1d2b3c4d5e6f', created: '2026-04-24T10:00:00+02:00' },
  data: {
    fornavn: 'Åse',
    efternavn: 'Sørensen-Ærø',
    cpr: '0101901234',
    email: 'aase@example.dk',
    telefon: '+45 12 34 56 78',
    adresse: { address: 'Østergade 12, 2. th.', postal_code: '8000', city: 'Aarhus C' },
    udgiftstype: ['tandbehandling', 'fodbehandling'],
    beloeb: 1234.5,
    beskrivelse: 'Behandling hos tandlæge på Nørrebro; "særlige" behov & <udgifter>',
    samtykke: '1',
    dato: '2026-04-24',
  },
  files: [{ element: 'dokumenter_overslag', name: 'overslag.pdf', mime: 'application/pdf', content: Buffer.alloc(200_000) }],
};
