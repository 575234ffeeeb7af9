#!/usr/bin/env node
/**
 * Runs the Serviceplatform (SF2900) simulator on its own, e.g. beside Node-RED for `npm start`:
 *
 *   node --import tsx simulator/cli.ts [options]      (from source)
 *   node dist/simulator/cli.js [options]              (after npm run build)
 *
 * Options (each also as environment variable):
 *   --port <n>            SF2900_SIM_PORT            default 8443 (0 = any free port)
 *   --host <addr>         SF2900_SIM_HOST            default 127.0.0.1
 *   --cert-dir <dir>      SF2900_SIM_CERT_DIR        default ./.sim (test CA, server and client certificates; reused while valid)
 *   --cvr <8 digits>      SF2900_SIM_CVR             CVR in the client certificate, default 12345678
 *   --receipt-url <url>   SF2900_SIM_RECEIPT_URL     the sender's FordelingskvitteringModtag endpoint (receipts are only sent with one)
 *   --receipt-user <u>    SF2900_SIM_RECEIPT_USER    basic auth towards the receipt endpoint
 *   --receipt-password <p> SF2900_SIM_RECEIPT_PASSWORD
 *   --contract-dir <dir>  SF2900_CONTRACT_DIR        the official contract (default ../shared/sf2900)
 *   --no-validate                                    do not validate requests against the contract XSD
 *   --json                                           print one JSON line with URL and certificate paths
 * Nothing it prints contains message content.
 */
import * as path from 'path';
import { generateCerts } from './certs';
import { createSimulator, type Simulator } from './simulator';

export interface CliOptions {
  port: number;
  host: string;
  certDir: string;
  cvr?: string;
  receiptUrl?: string;
  receiptUser?: string;
  receiptPassword?: string;
  contractDir?: string;
  validate: boolean;
  json: boolean;
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions {
  const o: CliOptions = {
    port: Number(env.SF2900_SIM_PORT ?? 8443),
    host: env.SF2900_SIM_HOST || '127.0.0.1',
    certDir: path.resolve(env.SF2900_SIM_CERT_DIR || '.sim'),
    cvr: env.SF2900_SIM_CVR || undefined,
    receiptUrl: env.SF2900_SIM_RECEIPT_URL || undefined,
    receiptUser: env.SF2900_SIM_RECEIPT_USER || undefined,
    receiptPassword: env.SF2900_SIM_RECEIPT_PASSWORD || undefined,
    contractDir: env.SF2900_CONTRACT_DIR || undefined,
    validate: true,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--port':
        o.port = Number(value());
        break;
      case '--host':
        o.host = value();
        break;
      case '--cert-dir':
        o.certDir = path.resolve(value());
        break;
      case '--cvr':
        o.cvr = value();
        break;
      case '--receipt-url':
        o.receiptUrl = value();
        break;
      case '--receipt-user':
        o.receiptUser = value();
        break;
      case '--receipt-password':
        o.receiptPassword = value();
        break;
      case '--contract-dir':
        o.contractDir = path.resolve(value());
        break;
      case '--no-validate':
        o.validate = false;
        break;
      case '--json':
        o.json = true;
        break;
      case '--help':
      case '-h':
        throw new Error(
          'usage: simulator/cli [--port n] [--host a] [--cert-dir d] [--cvr n] [--receipt-url u] [--receipt-user u --receipt-password p] [--contract-dir d] [--no-validate] [--json]',
        );
      default:
        throw new Error(`Unknown option ${a}`);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`Port "${o.port}" is not valid`);
  return o;
}

export async function startFromCli(
  o: CliOptions,
  print: (line: string) => void = (l) => console.log(l),
  printEvent: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<Simulator> {
  const certs = await generateCerts(o.certDir, { reuse: true, cvr: o.cvr });
  const sim = await createSimulator({
    certs,
    host: o.host,
    port: o.port,
    contractDir: o.contractDir,
    validate: o.validate,
    receiptUrl: o.receiptUrl,
    receiptBasicAuth: o.receiptUser ? { username: o.receiptUser, password: o.receiptPassword ?? '' } : undefined,
    // With --json, stdout carries only the JSON line; events go to stderr.
    log: (line) => (o.json ? printEvent : print)(`${new Date().toISOString()} sim: ${line}`),
  });
  const info = {
    url: sim.serviceUrl,
    ca: certs.ca.certPath,
    clientCert: certs.client.certPath,
    clientKey: certs.client.keyPath,
    clientP12: certs.client.p12Path,
    p12Passphrase: certs.client.p12Passphrase,
    cvr: certs.client.cvr,
    receiptUrl: o.receiptUrl ?? null,
    tokenUrl: sim.tokenServiceUrl,
    stsUrl: sim.stsUrl,
    stsCert: certs.sts.certPath,
  };
  if (o.json) print(JSON.stringify(info));
  else {
    print(`Serviceplatform simulator (SF2900) listening on ${info.url}`);
    print(`  CA certificate to trust:     ${info.ca}`);
    print(`  client certificate (CVR ${info.cvr}): ${info.clientCert}`);
    print(`  client key:                  ${info.clientKey}`);
    print(`  client P12 (passphrase "${info.p12Passphrase}"): ${info.clientP12}`);
    print(`  receipts go to:              ${info.receiptUrl ?? '(none: pass --receipt-url)'}`);
    print(`  token model: service ${info.tokenUrl}, STS ${info.stsUrl}, STS certificate to pin ${info.stsCert}`);
  }
  return sim;
}

if (require.main === module) {
  let sim: Simulator | undefined;
  const stop = () => {
    void (sim ? sim.close() : Promise.resolve()).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  (async () => {
    sim = await startFromCli(parseArgs(process.argv.slice(2)));
  })().catch((err: Error) => {
    console.error(`simulator: ${err.message}`);
    process.exit(1);
  });
}
