import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ensureSandbox } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';

const ORG = 'CF1601ZONE@AdobeOrg';
const OTHER_ORG = 'CF1601OTHR@AdobeOrg';
const ZONE = '/data/foundation/connectors/landingzone';
const CREDENTIALS = `${ZONE}/credentials`;
const EXPLORE = '/data/foundation/flowservice/connectionSpecs/26f526f2-58f4-4712-961d-e41bf1ccc0e8/explore';

interface Credential {
  containerName: string;
  SASToken: string;
  storageAccountName: string;
  SASUri: string;
  expiryDate: string;
}
interface Item {
  type: 'file' | 'folder';
  name: string;
  path: string;
  canPreview: boolean;
  canFetchSchema: boolean;
}

/** Adobe's Data Landing Zone API: a container per org and sandbox, with a SAS the API issues and revokes. */
describe('landing zones through the local runtime', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  const api = (org = ORG, sandbox = 'prod') => new ApiClient(runtime.url, org, sandbox);

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime(stack.env);
  });
  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
  });

  async function credential(org = ORG, sandbox = 'prod'): Promise<Credential> {
    return api(org, sandbox).json<Credential>('GET', `${CREDENTIALS}?type=user_drop_zone`);
  }
  async function refresh(org = ORG, sandbox = 'prod'): Promise<Credential> {
    return api(org, sandbox).json<Credential>('POST', `${CREDENTIALS}?type=user_drop_zone&action=refresh`);
  }
  /** The zone as the customer reaches it: nothing but the SAS URI. */
  const asCustomer = (c: Credential) => new ContainerClient(c.SASUri);
  async function status(work: Promise<unknown>): Promise<number> {
    try {
      await work;
      return 200;
    } catch (err) {
      return (err as { statusCode?: number }).statusCode ?? -1;
    }
  }
  async function problem(res: Response, status: number, code: string): Promise<{ errors?: { field: string }[] }> {
    const text = await res.text();
    expect(res.status, text).toBe(status);
    expect(JSON.parse(text)).toMatchObject({ status, code });
    return JSON.parse(text) as { errors?: { field: string }[] };
  }

  it('answers the zone, created on first use with a generated name, the same on every call', async () => {
    const zone = await api().json<{ containerName: string; containerTTL: string }>('GET', `${ZONE}?type=user_drop_zone`);
    expect(Object.keys(zone).sort()).toEqual(['containerName', 'containerTTL']);
    expect(zone.containerName).toMatch(/^dlz-[a-z2-7]{26}$/);
    expect(zone.containerTTL).toBe('7');
    expect(await api().json('GET', `${ZONE}?type=user_drop_zone`)).toEqual(zone);
    const exists = await BlobServiceClient.fromConnectionString(stack.landing.connectionString).getContainerClient(zone.containerName).exists();
    expect(exists).toBe(true);
  });

  it('makes one zone of concurrent first calls', async () => {
    await ensureSandbox(runtime.url, ORG, 'race');
    const zones = await Promise.all(Array.from({ length: 6 }, () => api(ORG, 'race').json<{ containerName: string }>('GET', `${ZONE}?type=user_drop_zone`)));
    expect(new Set(zones.map((z) => z.containerName)).size).toBe(1);
  });

  it("answers Adobe's credential shape, the same until a refresh, with permissions and expiry only in the policy", async () => {
    const c = await credential();
    const zone = await api().json<{ containerName: string }>('GET', `${ZONE}?type=user_drop_zone`);
    expect(c.containerName).toBe(zone.containerName);
    expect(c.storageAccountName).toBe(stack.landing.accountName);
    expect(c.SASUri).toBe(`${stack.landing.blobEndpoint}/${c.containerName}?${c.SASToken}`);
    const params = new URLSearchParams(c.SASToken);
    expect(params.get('sr')).toBe('c');
    expect(params.get('si')).toMatch(/^dlz-[0-9a-f-]{36}$/);
    expect(params.has('sp')).toBe(false);
    expect(params.has('se')).toBe(false);
    const days = (Date.parse(c.expiryDate) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(88);
    expect(days).toBeLessThan(91);
    expect(await credential()).toEqual(c);
  });

  it('lets the SAS alone upload, read, list and delete in its zone', async () => {
    const zone = asCustomer(await credential());
    await zone.getBlockBlobClient('incoming/hello.csv.gpg').uploadData(Buffer.from('hello'));
    expect((await zone.getBlobClient('incoming/hello.csv.gpg').downloadToBuffer()).toString()).toBe('hello');
    const names: string[] = [];
    for await (const b of zone.listBlobsFlat()) names.push(b.name);
    expect(names).toContain('incoming/hello.csv.gpg');
    await zone.getBlobClient('incoming/scratch').deleteIfExists();
  });

  it("refuses a SAS on another zone's container, on the internal account and for an account listing", async () => {
    const mine = await credential();
    const theirs = await credential(OTHER_ORG);
    await asCustomer(theirs).getBlockBlobClient('theirs.csv').uploadData(Buffer.from('x'));
    // My token on their container: storage checks the signature against the path.
    const crossed = new ContainerClient(`${stack.landing.blobEndpoint}/${theirs.containerName}?${mine.SASToken}`);
    expect(await status(crossed.getBlockBlobClient('evil.csv').uploadData(Buffer.from('x')))).toBe(403);
    expect(await status(crossed.getBlobClient('theirs.csv').downloadToBuffer())).toBe(403);
    expect(await status(crossed.listBlobsFlat().next())).toBe(403);
    // The internal account (tables' and objects' account) and the landing account's listing.
    const internal = new ContainerClient(`${stack.azurite.blobEndpoint}/objects?${mine.SASToken}`);
    expect(await status(internal.listBlobsFlat().next())).toBe(403);
    expect(await status(internal.getBlockBlobClient('evil').uploadData(Buffer.from('x')))).toBe(403);
    const account = new BlobServiceClient(`${stack.landing.blobEndpoint}?${mine.SASToken}`);
    expect(await status(account.listContainers().next())).toBe(403);
  });

  it('revokes every earlier credential of the zone on refresh, and only of that zone', async () => {
    const before = await credential();
    const theirs = await credential(OTHER_ORG);
    const after = await refresh();
    expect(after.SASToken).not.toBe(before.SASToken);
    expect(after.containerName).toBe(before.containerName);
    expect(await status(asCustomer(before).getBlockBlobClient('late.csv').uploadData(Buffer.from('x')))).toBe(403);
    expect(await status(asCustomer(after).getBlockBlobClient('fresh.csv').uploadData(Buffer.from('x')))).toBe(200);
    expect(await status(asCustomer(theirs).getBlockBlobClient('still.csv').uploadData(Buffer.from('x')))).toBe(200);
    expect(await credential()).toEqual(after);
  });

  it('leaves exactly the last answered credential valid after concurrent refreshes', async () => {
    const answered = await Promise.all(Array.from({ length: 4 }, () => refresh()));
    const works = await Promise.all(answered.map(async (c) => (await status(asCustomer(c).getBlockBlobClient('probe').uploadData(Buffer.from('x')))) === 200));
    expect(works.filter(Boolean)).toHaveLength(1);
    const current = await credential();
    expect(answered[works.indexOf(true)]).toEqual(current);
  });

  it('refuses a missing or unknown type and an unknown action with 400 INVALID_REQUEST', async () => {
    expect((await problem(await api().request('GET', ZONE), 400, 'INVALID_REQUEST')).errors?.[0]?.field).toBe('query.type');
    await problem(await api().request('GET', `${ZONE}?type=dlz_destination`), 400, 'INVALID_REQUEST');
    await problem(await api().request('GET', `${CREDENTIALS}?type=other`), 400, 'INVALID_REQUEST');
    expect((await problem(await api().request('POST', `${CREDENTIALS}?type=user_drop_zone&action=rotate`), 400, 'INVALID_REQUEST')).errors?.[0]?.field).toBe('query.action');
    await problem(await api().request('POST', `${CREDENTIALS}?type=user_drop_zone`), 400, 'INVALID_REQUEST');
  });

  it("explores the zone in Adobe's shape, paginated, and never another zone", async () => {
    await ensureSandbox(runtime.url, ORG, 'explore');
    const c = await credential(ORG, 'explore');
    const zone = asCustomer(c);
    for (const name of ['top.csv', 'incoming/a.csv.gpg', 'incoming/b.csv.gpg', 'incoming/sub/c.csv']) await zone.getBlockBlobClient(name).uploadData(Buffer.from(name));
    const explore = (query: string) => api(ORG, 'explore').request('GET', `${EXPLORE}?${query}`);

    const root = (await (await explore('objectType=root')).json()) as Item[];
    expect(root).toEqual([{ type: 'folder', name: c.containerName, path: `${c.containerName}/`, canPreview: false, canFetchSchema: false }]);
    const top = (await (await explore(`objectType=folder&object=${c.containerName}/`)).json()) as Item[];
    expect(top.map((i) => [i.type, i.name, i.path])).toEqual([
      ['folder', 'incoming', `${c.containerName}/incoming/`],
      ['file', 'top.csv', `${c.containerName}/top.csv`],
    ]);
    const adobeForm = (await (await explore('objectType=folder&object=dlz-user-container/incoming/')).json()) as Item[];
    expect(adobeForm.map((i) => i.name)).toEqual(['sub', 'a.csv.gpg', 'b.csv.gpg']);

    const first = await explore('objectType=folder&object=dlz-user-container/incoming&limit=2');
    const token = first.headers.get('x-continuation-token');
    // Storage pages in name order, files and folders together: a.csv.gpg, b.csv.gpg | sub/.
    expect(((await first.json()) as Item[]).map((i) => i.name)).toEqual(['a.csv.gpg', 'b.csv.gpg']);
    expect(token).toBeTruthy();
    const second = await explore(`objectType=folder&object=dlz-user-container/incoming&limit=2&start=${encodeURIComponent(token ?? '')}`);
    expect(((await second.json()) as Item[]).map((i) => i.name)).toEqual(['sub']);
    expect(second.headers.get('x-continuation-token')).toBeNull();

    // Another zone's container name is read as a folder inside this zone: nothing there.
    const other = await credential(OTHER_ORG);
    expect(await (await explore(`objectType=folder&object=${other.containerName}/`)).json()).toEqual([]);
    await problem(await api().request('GET', EXPLORE.replace('26f526f2', '00000000')), 404, 'NOT_FOUND');
  });
});
