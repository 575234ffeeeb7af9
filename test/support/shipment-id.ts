/** The AnvenderTransaktionsID fordeling out (shipment key "by target", the default) gives a submission sent this way. */
import { shipmentIdOf } from '../../lib/delivery/plan';
import type { ObjektType, Routing } from '../../lib/sf2900/model';

export function txFor(submissionUuid: string, webformId: string | undefined, objektType: ObjektType, routing: Routing): string {
  return shipmentIdOf({ submissionId: submissionUuid, webformId, objektType, context: { routing } });
}
