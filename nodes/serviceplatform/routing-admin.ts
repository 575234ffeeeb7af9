/**
 * The serviceplatform configuration's admin endpoints: "test connection" and the map dialog's receiver list
 * (FordelingsmodtagerList), and "check routing" (FordelingsmodtagerList + FordelingsmodtagerValider), each with the
 * deployed configuration. Answers systems or a reason; never secrets.
 */
import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { CVR_PATTERN, HANDLING_FACET_PATTERN, UUID_PATTERN, KLE_PATTERN } from '../../lib/sf2900/model';
import { maskCpr } from '../../lib/privacy/cpr';
import { checkRouting, listReceivers } from '../../lib/delivery/deliver';
import type { DeliveryError } from '../../lib/delivery/errors';
import type { ServiceplatformConfig } from '../../lib/delivery/serviceplatform';

export function registerRoutingAdmin(RED: NodeAPI): void {
  /** The deployed node of the URL's id, or a 404 with a clear message. */
  function deployedOr404(req: Request, res: Response): ServiceplatformConfig | undefined {
    const node = RED.nodes.getNode(String(req.params.id)) as unknown as ServiceplatformConfig | null;
    if (!node || typeof node.endpoint !== 'function') {
      res.status(404).json({ ok: false, error: 'This serviceplatform configuration is not deployed: deploy it first, then try again' });
      return undefined;
    }
    return node;
  }
  const platformError = (res: Response, err: unknown) => {
    const e = err as DeliveryError;
    res.json({ ok: false, error: maskCpr(e.reason ?? e.message), class: e.class ?? 'permanent' });
  };
  const text = (v: unknown) => (v === undefined || v === null ? '' : String(v).trim());

  // "Test connection" and the map dialog's receiver list: FordelingsmodtagerList with the deployed configuration.
  // Answers systems or a reason; never secrets.
  const receivers = async (req: Request, res: Response) => {
    const node = deployedOr404(req, res);
    if (!node) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const routingCvr = text(body.routingCvr) || node.senderCvr;
    const kle = text(body.kle);
    const handlingFacet = text(body.handlingFacet).toUpperCase();
    if (!CVR_PATTERN.test(routingCvr) || !KLE_PATTERN.test(kle) || (handlingFacet && !HANDLING_FACET_PATTERN.test(handlingFacet))) {
      res
        .status(400)
        .json({ ok: false, error: 'Give the routing authority CVR (8 digits), a KLE subject (dd.dd.dd) and optionally a handling facet (e.g. G01)' });
      return;
    }
    try {
      const systems = await listReceivers({ routingCvr, kle, handlingFacet: handlingFacet || undefined }, platformOf(node));
      res.json({ ok: true, systems });
    } catch (err) {
      platformError(res, err);
    }
  };
  RED.httpAdmin.post('/os2-serviceplatform/:id/test', RED.auth.needsPermission('os2-serviceplatform.write'), receivers);
  RED.httpAdmin.post('/os2-serviceplatform/:id/receivers', RED.auth.needsPermission('os2-serviceplatform.write'), receivers);

  // Would the platform deliver an object routed like this? FordelingsmodtagerList + FordelingsmodtagerValider.
  RED.httpAdmin.post('/os2-serviceplatform/:id/check-routing', RED.auth.needsPermission('os2-serviceplatform.write'), async (req: Request, res: Response) => {
    const node = deployedOr404(req, res);
    if (!node) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    const q = {
      routingCvr: text(body.routingCvr),
      kle: text(body.kle),
      handlingFacet: text(body.handlingFacet).toUpperCase(),
      receivingSystemUuid: text(body.receivingSystemUuid).toLowerCase(),
    };
    const problem = !CVR_PATTERN.test(q.routingCvr)
      ? 'routingCvr must be the receiving authority CVR (8 digits)'
      : q.receivingSystemUuid
        ? UUID_PATTERN.test(q.receivingSystemUuid)
          ? undefined
          : 'receivingSystemUuid must be a UUID'
        : !KLE_PATTERN.test(q.kle)
          ? 'Give a KLE subject (dd.dd.dd) or a receivingSystemUuid'
          : q.handlingFacet && !HANDLING_FACET_PATTERN.test(q.handlingFacet)
            ? 'handlingFacet must be a letter and two digits (e.g. G01)'
            : undefined;
    if (problem) return void res.status(400).json({ ok: false, error: problem });
    try {
      res.json({ ok: true, ...(await checkRouting(q, platformOf(node))) });
    } catch (err) {
      platformError(res, err);
    }
  });
}

function platformOf(node: ServiceplatformConfig) {
  return { endpoint: node.endpoint(), transport: node.transport(), security: node.security?.() };
}
