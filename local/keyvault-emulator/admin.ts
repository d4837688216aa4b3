import type { IncomingMessage, ServerResponse } from 'node:http';
import { KeyVaultServiceError, badParameter } from './errors.js';
import type { FaultSpec } from './faults.js';
import { readJsonObject, sendEmpty, sendJson } from './http-io.js';
import { isVaultOperation, type VaultOperation } from './operations.js';

/** Path prefix of the emulator's admin API (served on the vault listener, no auth: loopback, dev only). */
export const ADMIN_PREFIX = '/_emulator/';

/** The test/admin controls, shared by the in-process handle and the HTTP admin API. */
export interface EmulatorControls {
  info(): Record<string, unknown>;
  revokeAccess(identity: string, keyName: string): Promise<void>;
  restoreAccess(identity: string, keyName: string): Promise<void>;
  listRevocations(): { identity: string; keyName: string }[];
  setPurgeProtection(enabled: boolean): Promise<void>;
  injectFault(spec: FaultSpec): void;
  listFaults(): { spec: FaultSpec; remaining: number }[];
  clearFaults(): void;
  requestCounts(options?: { reset?: boolean }): Record<string, number>;
  resetRequestCounts(): void;
}

/**
 * Serves `/_emulator/...`:
 * - `GET  /_emulator/info`
 * - `GET  /_emulator/access`, `POST /_emulator/access/revoke|restore` `{identity, keyName}`
 * - `PUT  /_emulator/vault` `{purgeProtection: boolean}`
 * - `GET|POST|DELETE /_emulator/faults` (POST body is a {@link FaultSpec})
 * - `GET  /_emulator/counters[?reset=true]`, `DELETE /_emulator/counters`
 */
export async function handleAdminRequest(req: IncomingMessage, res: ServerResponse, controls: EmulatorControls): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://127.0.0.1');
  const path = url.pathname.slice(ADMIN_PREFIX.length).replace(/\/$/, '');
  const method = req.method ?? 'GET';
  const route = `${method} ${path}`;
  switch (route) {
    case 'GET info':
      return sendJson(res, 200, controls.info());
    case 'GET access':
      return sendJson(res, 200, { revocations: controls.listRevocations() });
    case 'POST access/revoke':
    case 'POST access/restore': {
      const body = await readJsonObject(req);
      const identity = requiredString(body, 'identity');
      const keyName = requiredString(body, 'keyName');
      await (path === 'access/revoke' ? controls.revokeAccess(identity, keyName) : controls.restoreAccess(identity, keyName));
      return sendEmpty(res, 204);
    }
    case 'PUT vault': {
      const body = await readJsonObject(req);
      if (typeof body.purgeProtection !== 'boolean') throw badParameter('purgeProtection must be a boolean.');
      await controls.setPurgeProtection(body.purgeProtection);
      return sendJson(res, 200, { purgeProtection: body.purgeProtection });
    }
    case 'GET faults':
      return sendJson(res, 200, { faults: controls.listFaults() });
    case 'POST faults':
      controls.injectFault(parseFault(await readJsonObject(req)));
      return sendEmpty(res, 204);
    case 'DELETE faults':
      controls.clearFaults();
      return sendEmpty(res, 204);
    case 'GET counters':
      return sendJson(res, 200, controls.requestCounts({ reset: url.searchParams.get('reset') === 'true' }));
    case 'DELETE counters':
      controls.resetRequestCounts();
      return sendEmpty(res, 204);
    default:
      throw new KeyVaultServiceError(404, 'NotFound', `No admin endpoint ${route}.`);
  }
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw badParameter(`${field} must be a non-empty string.`);
  return value;
}

function optionalInteger(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw badParameter(`${field} must be a non-negative integer.`);
  return value;
}

function parseFault(body: Record<string, unknown>): FaultSpec {
  const count = optionalInteger(body, 'count') ?? 1;
  let operations: VaultOperation[] | undefined;
  if (body.operations !== undefined) {
    if (!Array.isArray(body.operations) || !body.operations.every(isVaultOperation)) throw badParameter('operations must list vault operations.');
    operations = body.operations;
  }
  if (body.kind === 'status') {
    const status = optionalInteger(body, 'status') ?? 503;
    return { kind: 'status', status, count, operations, retryAfterSeconds: optionalInteger(body, 'retryAfterSeconds') };
  }
  if (body.kind === 'stall') return { kind: 'stall', count, operations, ms: optionalInteger(body, 'ms') };
  throw badParameter("kind must be 'status' or 'stall'.");
}
