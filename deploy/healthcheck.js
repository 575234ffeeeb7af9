// The image's HEALTHCHECK (and compose's): healthy = the OS2 readiness probe answers 200 — flows started, every ledger
// (the shared PostgreSQL one included) answering, no certificate expired. Exit 0 healthy, 1 not.
// It replaces the base image's /healthcheck.js, which reads /data/settings.js, a file this setup does not have.
// Same environment as deploy/settings.js: PORT, OS2_HTTP_NODE_ROOT, OS2_OPS_PATH.
'use strict';
const http = require('node:http');

const env = process.env;
const root = (env.OS2_HTTP_NODE_ROOT || '/').replace(/\/+$/, '');
const ops = (env.OS2_OPS_PATH || '/os2').replace(/\/+$/, '');
const url = `http://127.0.0.1:${Number(env.PORT || 1880)}${root}${ops}/ready`;

const req = http.get(url, { timeout: 4000 }, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => (body += d));
  res.on('end', () => {
    if (res.statusCode === 200) process.exit(0);
    // docker inspect shows this: which check failed (the answer holds no secret)
    console.log(`not ready (${res.statusCode}): ${body.slice(0, 500)}`);
    process.exit(1);
  });
});
req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
req.on('error', (err) => {
  console.log(`not ready: ${url}: ${err.message}`);
  process.exit(1);
});
