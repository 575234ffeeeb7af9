// Node-RED settings for the container (deploy/Dockerfile). Everything that differs between installations, and every
// secret, comes from the environment; nothing secret is written in this file, so it can live in the same git
// checkout as the flows. The entrypoint (deploy/entrypoint.sh) uses the checkout's own copy when it has one.
//
//   OS2_CREDENTIAL_SECRET      required: the key that encrypts flows_cred.json (at least 16 characters)
//   OS2_ADMIN_USER             editor / Admin API user name (default admin)
//   OS2_ADMIN_PASSWORD_HASH    its bcrypt hash (`npx node-red admin hash-pw`); without it the editor and the Admin
//                              API are switched off altogether (httpAdminRoot false)
//   OS2_ADMIN_ROOT             where the editor is served (default /admin)
//   OS2_METRICS_TOKEN          bearer token for /os2/metrics (read by the package itself)
//   OS2_LEDGER_DATABASE_URL    the PostgreSQL ledger's connection string, read by the flows' `ledger` node
//                              (connectionEnv); PGPASSWORD is honoured when the URL carries no password
//   OS2_CONFIG_DIR             the mounted checkout with flows.json (and flows_cred.json, which the entrypoint
//                              copies into the user directory, where Node-RED reads credentials), default /config
//   OS2_FLOWS                  the flow file's name inside it (default flows.json)
//   OS2_USER_DIR               Node-RED's user directory (default /data: sessions, the embedded default ledger)
//   OS2_HTTP_NODE_ROOT         prefix of the flows' HTTP endpoints and of /os2/* (default /)
//   OS2_LISTEN_HOST, PORT      where Node-RED listens (default 0.0.0.0:1880)
//   OS2_LOG_LEVEL              fatal, error, warn, info (default), debug, trace
// Each secret may instead be given as a file (Docker/Kubernetes secrets): <NAME>_FILE holding the path.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const env = process.env;

function refuse(message) {
  // Thrown from a settings file, this stops Node-RED before anything starts; red.js prints it and exits with 1.
  const err = new Error(`os2 container settings: ${message}`);
  err.stack = `${err.name}: ${err.message}`; // the reason, without a stack trace around it
  throw err;
}

// <NAME>_FILE → <NAME>: secrets mounted as files. The package and the pg driver read some of these names from the
// environment themselves (OS2_METRICS_TOKEN, OS2_LEDGER_DATABASE_URL, PGPASSWORD), so they are put back there.
for (const name of ['OS2_CREDENTIAL_SECRET', 'OS2_ADMIN_PASSWORD_HASH', 'OS2_METRICS_TOKEN', 'OS2_LEDGER_DATABASE_URL', 'PGPASSWORD']) {
  const file = env[`${name}_FILE`];
  if (!file) continue;
  if (env[name]) refuse(`both ${name} and ${name}_FILE are set; set one of them`);
  try {
    env[name] = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    refuse(`${name}_FILE: cannot read ${file} (${err.code || err.message})`);
  }
}

const credentialSecret = env.OS2_CREDENTIAL_SECRET || '';
if (!credentialSecret) {
  refuse(
    'OS2_CREDENTIAL_SECRET is not set. It encrypts the credentials (keys, passwords) in flows_cred.json; refusing to ' +
      'start without it, since Node-RED would otherwise make up a key of its own that no other replica knows.',
  );
}
if (credentialSecret.length < 16) refuse('OS2_CREDENTIAL_SECRET is shorter than 16 characters; use a long random value.');

const adminHash = env.OS2_ADMIN_PASSWORD_HASH || '';
if (adminHash && !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(adminHash)) {
  refuse('OS2_ADMIN_PASSWORD_HASH is not a bcrypt hash (make one with `npx node-red admin hash-pw`).');
}

const configDir = path.resolve(env.OS2_CONFIG_DIR || '/config');
const flowFile = path.join(configDir, env.OS2_FLOWS || 'flows.json');
const httpNodeRoot = env.OS2_HTTP_NODE_ROOT || '/';

// A credential secret that does not open the checkout's flows_cred.json would not stop Node-RED: it logs the failure
// and runs the flows without any credentials. Check it here instead, the way Node-RED decrypts the file (aes-256-ctr,
// key = sha256(secret), IV in the first 32 hex digits), and refuse to start.
const credFile = path.join(path.dirname(flowFile), `${path.basename(flowFile, path.extname(flowFile))}_cred${path.extname(flowFile)}`);
function decrypts(sealed, secret) {
  try {
    const key = crypto.createHash('sha256').update(secret).digest();
    const decipher = crypto.createDecipheriv('aes-256-ctr', key, Buffer.from(sealed.slice(0, 32), 'hex'));
    JSON.parse(decipher.update(sealed.slice(32), 'base64', 'utf8') + decipher.final('utf8'));
    return true;
  } catch {
    return false;
  }
}
if (fs.existsSync(credFile)) {
  let sealed;
  try {
    sealed = JSON.parse(fs.readFileSync(credFile, 'utf8'));
  } catch (err) {
    refuse(`${credFile} cannot be read as JSON (${err.message})`);
  }
  if (typeof sealed?.$ === 'string') {
    if (!decrypts(sealed.$, credentialSecret)) refuse(`OS2_CREDENTIAL_SECRET does not decrypt ${credFile}: it was encrypted with another secret.`);
  } else {
    // In plain text only references to environment variables (`${NAME}`, which Node-RED fills in credentials too).
    const plain = Object.values(sealed && typeof sealed === 'object' ? sealed : {}).flatMap((c) => Object.values(c && typeof c === 'object' ? c : {}));
    if (plain.some((v) => typeof v !== 'string' || !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(v))) {
      refuse(`${credFile} holds credentials in plain text; keep them encrypted with the credential secret, or as \${VARIABLE} references.`);
    }
  }
}

module.exports = {
  userDir: path.resolve(env.OS2_USER_DIR || '/data'),
  // The flows come from the mounted checkout. Mounted read-only, a deploy from the editor fails instead of
  // changing one replica behind the others' backs: change the flows in git, pull, restart the replicas.
  flowFile,
  flowFilePretty: true,
  credentialSecret,

  uiHost: env.OS2_LISTEN_HOST || '0.0.0.0',
  uiPort: Number(env.PORT || 1880),
  httpNodeRoot,
  // The editor and Admin API only with a login; without a password hash there is no Admin API to reach at all.
  httpAdminRoot: adminHash ? env.OS2_ADMIN_ROOT || '/admin' : false,
  adminAuth: adminHash
    ? {
        type: 'credentials',
        users: [{ username: env.OS2_ADMIN_USER || 'admin', password: adminHash, permissions: '*' }],
        sessionExpiryTime: 8 * 3600,
      }
    : undefined,

  // Every replica runs the same image: nothing is installed at run time, from the palette or by function nodes.
  externalModules: { autoInstall: false, palette: { allowInstall: false, allowUpload: false }, modules: { allowInstall: false } },
  functionExternalModules: false,
  editorTheme: {
    projects: { enabled: false },
    tours: false,
  },
  telemetry: { enabled: false },
  diagnostics: { enabled: true, ui: false },
  runtimeState: { enabled: false, ui: false },
  exportGlobalContextKeys: false,

  logging: {
    console: { level: env.OS2_LOG_LEVEL || 'info', metrics: false, audit: false },
  },
};
