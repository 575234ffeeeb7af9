/**
 * `os2-webform-in`: receives OS2forms submissions (push: the Webform remote-post handler POSTs to a path on
 * Node-RED's HTTP node server) or fetches them (fetch: polls the OS2forms REST API through an `os2-os2forms-site`
 * config node). What OS2forms reports — draft, completed, updated, deleted — is decided against what was passed on
 * before (lib/webform/intake.ts): output 1 a submission to deliver, output 2 one changed after delivery. The receive
 * stages are lib/node-red/webform-route.ts (+ webform-push.ts) and lib/node-red/webform-fetch.ts; this file reads the
 * settings, builds the two outputs and registers.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Ledger } from '../../lib/ledger/types';
import { ledgerFor } from '../../lib/node-red/ledger';
import { statusText } from '../../lib/node-red/status-text';
import { startFetchLoop } from '../../lib/node-red/webform-fetch';
import { IntakeCounts, type IntakeOutputs, intakeSettings } from '../../lib/node-red/webform-intake';
import { startPushRoute } from '../../lib/node-red/webform-route';
import type { Os2formsSite } from '../../lib/webform/os2forms-client';
import { recordSample } from '../../lib/webform/samples';

/** Settings as the editor stores them; `ledger` (optional os2-ledger): the inbox, the intake and the fetch cursor. */
type WebformInDef = NodeDef &
  Record<
    'mode' | 'path' | 'auth' | 'authHeader' | 'hmacHeader' | 'timestampHeader' | 'hmacTimestamp' | 'webformId' | 'site' | 'ledger' | 'drafts' | 'updates',
    string | undefined
  > & {
    maxBodyMb?: string | number;
    /** HMAC: seconds a signed timestamp may be from now (default 300). */
    hmacWindowS?: string | number;
    interval?: string | number;
    draftDays?: string | number;
    overlapMin?: string | number;
    fetchFiles?: boolean;
  };

/** A positive number setting, or the default. */
const positive = (v: unknown, fallback: number) => (Number.isFinite(Number(v)) && Number(v) > 0 ? Number(v) : fallback);

export = function (RED: NodeAPI) {
  function WebformInNode(this: Node<{ secret: unknown }>, config: WebformInDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const t = statusText(RED, 'webform-in');
    const red = (text: string) => node.status({ fill: 'red', shape: 'ring', text });
    const ledgerNode = config.ledger ? (RED.nodes.getNode(config.ledger) as unknown as { ledger(): Ledger; ready?: Promise<Ledger> } | null) : null;
    if (config.ledger && !ledgerNode) {
      node.error('webform in: the chosen ledger configuration is missing');
      return red(t('noLedger', {}, 'ledger configuration missing'));
    }
    const ledger = ledgerFor(RED, ledgerNode);
    const counts = new IntakeCounts();
    const out: IntakeOutputs = {
      pass: (submission, inboxId) => {
        // the map dialog's preview offers the last submissions (files without content); never delays the message
        recordSample(ledger, submission, (text) => node.warn(text));
        node.send([
          {
            _msgid: RED.util.generateId(),
            payload: submission,
            submissionId: submission.submission.uuid,
            ...(inboxId ? { _os2InboxId: inboxId } : {}),
          },
          null,
        ] as never);
      },
      changed: (submission, changes) =>
        node.send([
          null,
          { _msgid: RED.util.generateId(), topic: changes.state, payload: submission, submissionId: submission.submission.uuid, changes },
        ] as never),
      log: (text) => node.log(text),
    };

    if (config.mode === 'fetch') {
      const site = config.site ? (RED.nodes.getNode(config.site) as unknown as Os2formsSite | null) : null;
      const webformId = (config.webformId ?? '').trim();
      const problem = !site ? 'no os2forms site configured' : site.configError ? site.configError : !webformId ? 'no webform id configured' : undefined;
      if (problem || !site) return (node.error(`webform in: ${problem}`), red(problem!));
      const stop = startFetchLoop({
        site,
        siteId: String(config.site),
        webformId,
        nodeId: node.id,
        intervalMs: Math.round(Math.max(positive(config.interval, 60), 0.05) * 1000),
        fetchFiles: config.fetchFiles !== false,
        draftMaxAgeMs: positive(config.draftDays, 30) * 86_400_000,
        overlapMs: positive(config.overlapMin, 60) * 60_000,
        ledger,
        userDir: (RED.settings as unknown as { userDir?: string }).userDir,
        intake: intakeSettings(config),
        counts,
        out,
        status: (s) => node.status(s),
        warn: (text) => node.warn(text),
        t,
      });
      node.on('close', (_removed: boolean, done: () => void) => void stop().then(done, done));
      return;
    }
    startPushRoute({ RED, node, config: config as unknown as Record<string, unknown>, t, ledgerNode, ledger, counts, out });
  }

  RED.nodes.registerType('os2-webform-in', WebformInNode, {
    credentials: { secret: { type: 'password' } },
  });
};
