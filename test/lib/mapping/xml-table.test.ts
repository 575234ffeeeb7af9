import { strict as assert } from 'node:assert';
import { buildXmlFromTable, checkXmlPath } from '../../../lib/mapping/xml-table';

describe('lib/mapping/xml-table', () => {
  it('builds elements in row order, reusing parents and repeating with + and lists', () => {
    const xml = buildXmlFromTable([
      { path: 'SP241/Header/Myndighed', value: 'urn:oio:cvr-nr:14814833' },
      { path: 'SP241/Header/KLE', value: '32.03.12' },
      {
        path: 'SP241/Header/Dokumenter',
        value: [
          { Dokumentnavn: 'a.pdf', Dokumenttype: 'Overslag' },
          { Dokumentnavn: 'b.pdf', Dokumenttype: 'Bilag' },
        ],
      },
      { path: 'SP241/AnsoegerOplysninger/Ansoeger/Fornavn', value: 'Ida & <Ø>' },
      { path: 'SP241/AnsoegerOplysninger/Ansoeger/Mellemnavn', value: '' },
      { path: 'SP241/X+/Y', value: '1' },
      { path: 'SP241/X+/Y', value: '2' },
      { path: 'SP241/X+/@n', value: '"q"' },
    ]);
    assert.equal(
      xml,
      '<SP241><Header><Myndighed>urn:oio:cvr-nr:14814833</Myndighed><KLE>32.03.12</KLE>' +
        '<Dokumenter><Dokumentnavn>a.pdf</Dokumentnavn><Dokumenttype>Overslag</Dokumenttype></Dokumenter>' +
        '<Dokumenter><Dokumentnavn>b.pdf</Dokumentnavn><Dokumenttype>Bilag</Dokumenttype></Dokumenter></Header>' +
        '<AnsoegerOplysninger><Ansoeger><Fornavn>Ida &amp; &lt;Ø&gt;</Fornavn></Ansoeger></AnsoegerOplysninger>' +
        '<X><Y>1</Y></X><X><Y>2</Y></X><X n="&quot;q&quot;"/></SP241>',
    );
  });

  it('refuses bad names, mixed roots and binary values', () => {
    assert.match(checkXmlPath('SP241/1abc') ?? '', /not an XML name/);
    assert.equal(checkXmlPath('SP241/Header/KLE'), undefined);
    assert.throws(
      () =>
        buildXmlFromTable([
          { path: 'A/B', value: '1' },
          { path: 'C/B', value: '1' },
        ]),
      /root element A/,
    );
    assert.throws(() => buildXmlFromTable([{ path: 'A/B', value: Buffer.from('x') }]), /binary/);
    assert.throws(() => buildXmlFromTable([{ path: 'A/B', value: '' }]), /no XML/);
  });
});
