import { strict as assert } from 'node:assert';
import {
  cprUrn,
  cvrUrn,
  FormatError,
  normaliseCpr,
  normaliseCvr,
  normaliseHandlingFacet,
  normaliseKle,
  normaliseUuid,
  oneOf,
  DIRECTIONS,
  toDate,
  toDateTime,
  toDecimal2,
} from '../../../lib/mapping/formats';

describe('lib/mapping/formats', () => {
  it('CVR: strips spaces, DK and the urn prefix; refuses anything but 8 digits', () => {
    assert.equal(normaliseCvr('DK 29 18 97 42'), '29189742');
    assert.equal(normaliseCvr(' dk29189742 '), '29189742');
    assert.equal(normaliseCvr('urn:oio:cvr-nr:14814833'), '14814833');
    assert.equal(normaliseCvr(14814833), '14814833');
    assert.throws(() => normaliseCvr('1481483'), /8 digits/);
    assert.throws(() => normaliseCvr('DK1481483X'), FormatError);
    assert.throws(() => normaliseCvr(undefined), /must be text/);
    assert.equal(cvrUrn('DK14814833'), 'urn:oio:cvr-nr:14814833');
  });

  it('CPR: 10 digits and urn:oio:cpr: (22 characters); errors never echo the number', () => {
    assert.equal(normaliseCpr('010203-1234'), '0102031234');
    assert.equal(cprUrn('010203 1234'), 'urn:oio:cpr:0102031234');
    assert.equal(cprUrn('urn:oio:cpr:0102031234').length, 22);
    assert.throws(
      () => cprUrn('010203-123'),
      (e: Error) => /10 digits/.test(e.message) && !e.message.includes('010203'),
    );
  });

  it('KLE: dd.dd.dd from several spellings', () => {
    assert.equal(normaliseKle('32.03.12'), '32.03.12');
    assert.equal(normaliseKle('320312'), '32.03.12');
    assert.equal(normaliseKle('32 3 12'), '32.03.12');
    assert.equal(normaliseKle('32-03-12'), '32.03.12');
    assert.throws(() => normaliseKle('32.03'), /dd\.dd\.dd/);
    assert.throws(() => normaliseKle('32.03.123'), /dd\.dd\.dd/);
  });

  it('handling facet: letter + 2 digits, upper-cased, Danish letters allowed', () => {
    assert.equal(normaliseHandlingFacet('g01'), 'G01');
    assert.equal(normaliseHandlingFacet('Ø20'), 'Ø20');
    assert.throws(() => normaliseHandlingFacet('G1'), /letter and two digits/);
  });

  it('UUID: lower-cased, braces and urn:uuid: removed', () => {
    assert.equal(normaliseUuid('3F2C8E0A-6B1D-4C2E-9A7F-0D1E2F3A4B5C'), '3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c');
    assert.equal(normaliseUuid('{3F2C8E0A-6B1D-4C2E-9A7F-0D1E2F3A4B5C}'), '3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c');
    assert.equal(normaliseUuid('urn:uuid:3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c'), '3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c');
    assert.throws(() => normaliseUuid('3f2c8e0a6b1d4c2e9a7f0d1e2f3a4b5c'), /UUID/);
  });

  it('xs:dateTime carries the Copenhagen offset (winter +01:00, summer +02:00); xs:date is the Danish calendar day', () => {
    assert.equal(toDateTime('2026-11-21T23:15:00Z'), '2026-11-22T00:15:00+01:00');
    assert.equal(toDateTime('2026-07-01T10:00:00Z'), '2026-07-01T12:00:00+02:00');
    assert.equal(toDateTime(new Date(Date.UTC(2026, 0, 1, 0, 0, 0))), '2026-01-01T01:00:00+01:00');
    assert.equal(toDateTime('1763798400'), '2025-11-22T09:00:00+01:00'); // Unix seconds (Drupal)
    assert.match(toDateTime('2026-11-22'), /^2026-11-22T00:00:00\+01:00$/);
    assert.equal(toDate('2026-11-21T23:15:00Z'), '2026-11-22');
    assert.equal(toDate('2026-06-30T22:10:00Z'), '2026-07-01');
    assert.throws(() => toDate('2026-02-30'), /not a date/);
    assert.throws(() => toDateTime('i går'), /not a date/);
  });

  it('decimals with two fraction digits from Danish notation', () => {
    assert.equal(toDecimal2('1.234,5'), '1234.50');
    assert.equal(toDecimal2('899'), '899.00');
    assert.equal(toDecimal2('-1,25'), '-1.25');
    assert.equal(toDecimal2(2133.5), '2133.50');
    assert.throws(() => toDecimal2('mange'), /number/);
  });

  it('closed lists match regardless of case and Danish letters', () => {
    assert.equal(oneOf('udgående', DIRECTIONS, 'direction'), 'Udgaaende');
    assert.equal(oneOf('INTERNT', DIRECTIONS, 'direction'), 'Internt');
    assert.throws(() => oneOf('sidelæns', DIRECTIONS, 'direction'), /direction must be one of/);
  });
});

describe('lib/mapping/formats error messages', () => {
  it('never echo a CPR-shaped value, whatever field it was put in', () => {
    for (const f of [
      () => normaliseCvr('010203-1234'),
      () => normaliseKle('0102031234'),
      () => normaliseUuid('0102031234'),
      () => toDate('x0102031234'),
      () => oneOf('0102031234', DIRECTIONS, 'direction'),
    ]) {
      assert.throws(f, (e: Error) => !/0102031234|010203-1234/.test(e.message) && /<10 digits>/.test(e.message));
    }
  });
});

describe('lib/mapping/formats: dates against Intl, around every transition', () => {
  // An independent reading of the same instant: Intl's own wall clock and its "GMT+hh:mm" offset name.
  function intl(d: Date, timeZone: string): string {
    const f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
    // xs:dateTime offsets have no seconds: an old local mean time (St. John's −02:30:52) is rounded to the minute
    const m = /^GMT(?:([+-])(\d\d):(\d\d)(?::(\d\d))?)?$/.exec(p.timeZoneName)!;
    const total = m[1] ? (m[1] === '-' ? -1 : 1) * Math.round(+m[2] * 60 + +m[3] + +(m[4] ?? 0) / 60) : 0;
    const abs = Math.abs(total);
    const off = `${total < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}${off}`;
  }
  const zones = ['Europe/Copenhagen', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'UTC'];

  it('formats 3,000 random instants 1900–2100 as Intl does, in six zones', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const from = Date.UTC(1900, 0, 1);
    const to = Date.UTC(2100, 0, 1);
    for (let i = 0; i < 3000; i++) {
      const d = new Date(Math.floor(from + rnd() * (to - from)));
      const zone = zones[i % zones.length];
      assert.equal(toDateTime(d, 'x', zone), intl(d, zone), `${d.toISOString()} in ${zone}`);
    }
  });

  it('is exact second by second across the 2026 summer-time changes in Copenhagen, cached or not', () => {
    for (const change of [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1)]) {
      for (let pass = 0; pass < 2; pass++) {
        for (let t = change - 5000; t <= change + 5000; t += 1000) {
          const d = new Date(t);
          assert.equal(toDateTime(d), intl(d, 'Europe/Copenhagen'), d.toISOString());
        }
      }
    }
    assert.equal(toDateTime(new Date(Date.UTC(2026, 2, 29, 0, 59, 59))), '2026-03-29T01:59:59+01:00');
    assert.equal(toDateTime(new Date(Date.UTC(2026, 2, 29, 1, 0, 0))), '2026-03-29T03:00:00+02:00');
    assert.equal(toDate('2026-10-25'), '2026-10-25');
  });
});
