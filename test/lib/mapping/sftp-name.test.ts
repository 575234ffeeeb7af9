import { strict as assert } from 'node:assert';
import { MAX_SFTP_NAME, safeAsciiName, sftpFileName } from '../../../lib/mapping/sftp-name';

const UUID = '3F2C8E0A-6B1D-4C2E-9A7F-0D1E2F3A4B5C';

describe('lib/mapping/sftp-name', () => {
  it('is deterministic, lower-cases the uuid and keeps a safe ASCII form of the name', () => {
    const a = sftpFileName(UUID, 0, 'ansøgning helbredstillæg.pdf');
    assert.equal(a, 'os2forms_3f2c8e0a-6b1d-4c2e-9a7f-0d1e2f3a4b5c_0_ansoegning_helbredstillaeg.pdf');
    assert.equal(sftpFileName(UUID, 0, 'ansøgning helbredstillæg.pdf'), a);
    assert.notEqual(sftpFileName(UUID, 1, 'ansøgning helbredstillæg.pdf'), a);
  });

  it('never yields a path, a hidden file or an empty name', () => {
    assert.equal(safeAsciiName('../../etc/passwd'), 'passwd');
    assert.equal(safeAsciiName('C:\\Users\\ida\\bilag.pdf'), 'bilag.pdf');
    assert.equal(safeAsciiName('.htaccess'), 'htaccess');
    assert.equal(safeAsciiName('...'), 'file');
    assert.equal(safeAsciiName('Café – résumé.docx'), 'Cafe_resume.docx');
    for (const n of ['../x', 'a/b/c.pdf', '..', '/', '']) assert.match(sftpFileName(UUID, 3, n), /^[A-Za-z0-9._-]+$/);
  });

  it('stays within the 200 characters the form schemas allow (≤ 255 of SFTP), extension kept', () => {
    const long = `${'å'.repeat(300)}.pdf`;
    const n = sftpFileName(UUID, 12, long);
    assert.ok(n.length <= MAX_SFTP_NAME && MAX_SFTP_NAME <= 255, String(n.length));
    assert.ok(n.endsWith('.pdf'));
  });
});
