import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Flow service ids (flows, connections, runs) are lowercase UUIDs, as Adobe's are. */
export const FLOW_SERVICE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A flow service id in a request body. */
export const FlowServiceId = z.string().regex(FLOW_SERVICE_ID_PATTERN, 'Must be a lowercase UUID');

/** A new random (v4) flow service id. */
export function newFlowServiceId(): string {
  return randomUUID();
}

/** True when `id` has the shape of a flow service id (anything else cannot exist). */
export function isFlowServiceId(id: string): boolean {
  return FLOW_SERVICE_ID_PATTERN.test(id);
}
