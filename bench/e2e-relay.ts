// The end-to-end bench's floor without Node-RED: a plain node:http server that takes each POSTed SOAP request and
// relays it over a keep-alive mutual-TLS node:https agent (16 sockets) to the simulator, answering once the simulator
// has answered. No package code, no storage: the least any process that receives submissions and delivers them can
// do on this machine. Run as a child process by bench/e2e.bench.ts; prints its port on the first line of stdout.
// Environment: RELAY_TARGET (the simulator's Afsend URL), RELAY_CERTS (a JSON file: key, cert, ca in PEM).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';

const target = new URL(process.env.RELAY_TARGET ?? '');
const { key, cert, ca } = JSON.parse(fs.readFileSync(process.env.RELAY_CERTS ?? '', 'utf8')) as { key: string; cert: string; ca: string };
const agent = new https.Agent({ keepAlive: true, maxSockets: 16, timeout: 4000, key, cert, ca }); // idle connections closed as the product's transport closes them

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const out = https.request(
      target,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': req.headers['content-type'] ?? 'text/xml', SOAPAction: req.headers.soapaction ?? '', 'Content-Length': body.length },
      },
      (answer) => {
        answer.resume();
        answer.on('end', () => {
          res.writeHead(answer.statusCode ?? 502, { 'Content-Length': 0 });
          res.end();
        });
      },
    );
    out.on('error', () => {
      res.writeHead(502, { 'Content-Length': 0 });
      res.end();
    });
    out.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  agent.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
