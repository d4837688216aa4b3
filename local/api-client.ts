import { ContainerClient } from '@azure/storage-blob';
import { DEV_CLIENT_ID } from '../shared/config/defaults.js';
import type { LandingZoneCredential } from '../shared/landing-zones/landing-zones.js';
import { issueDevToken } from './dev-issuer.js';

/** Headers of a well-formed call for `org` (and optionally a sandbox), with a fresh dev token. */
export async function apiHeaders(org: string, sandbox?: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return {
    authorization: `Bearer ${await issueDevToken({ org })}`,
    'x-api-key': DEV_CLIENT_ID,
    'x-gw-ims-org-id': org,
    ...(sandbox === undefined ? {} : { 'x-sandbox-name': sandbox }),
    ...extra,
  };
}

/** A small typed caller of the local runtime's API for end-to-end tests and benchmarks. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly org: string,
    readonly sandbox = 'prod',
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers = await apiHeaders(this.org, this.sandbox, body === undefined ? {} : { 'content-type': 'application/json' });
    return fetch(`${this.baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  }

  /** Calls and parses JSON, failing with the problem document when the status is not `expected`. */
  async json<T>(method: string, path: string, body?: unknown, expected = [200, 201]): Promise<T> {
    const res = await this.request(method, path, body);
    const text = await res.text();
    if (!expected.includes(res.status)) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  }
}

/**
 * Creates a development sandbox of `org` (from its production sandbox), or finds it already there:
 * every route answers 404 SANDBOX_NOT_FOUND for a sandbox that was not created.
 */
export async function ensureSandbox(baseUrl: string, org: string, name: string): Promise<void> {
  const res = await new ApiClient(baseUrl, org).request('POST', '/data/foundation/sandbox-management/sandboxes', { name, title: name, type: 'development' });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating sandbox ${name} → ${res.status}: ${await res.text()}`);
}

export type { LandingZoneCredential };

/** The caller's landing zone as a customer reaches it: a container client on the SAS the API issues. */
export async function landingZone(api: ApiClient): Promise<ContainerClient> {
  const credential = await api.json<LandingZoneCredential>('GET', '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone');
  return new ContainerClient(credential.SASUri);
}

export interface Run {
  id: string;
  status: 'inProgress' | 'success' | 'failed';
  fileName: string;
  blobETag: string;
  errors: { code: string; message: string }[];
  metrics: { inputBytes: number; outputBytes: number; recordCount?: number; durationMs: number };
  batchId?: string;
}

/** Polls a flow's runs until `fileName` has a finished run (beyond `skip` earlier ones). */
export async function waitForRun(api: ApiClient, flowId: string, fileName: string, options: { timeoutMs?: number; etag?: string } = {}): Promise<Run> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const { items } = await api.json<{ items: Run[] }>('GET', `/data/foundation/flowservice/runs?property=flowId==${flowId}`);
    const run = items.find((r) => r.fileName === fileName && r.status !== 'inProgress' && (options.etag === undefined || r.blobETag === options.etag));
    if (run !== undefined) return run;
    if (Date.now() > deadline) throw new Error(`no finished run for ${fileName}: ${JSON.stringify(items)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
