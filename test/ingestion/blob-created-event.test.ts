import { describe, expect, it } from 'vitest';
import { parseBlobCreatedEvent } from '../../shared/ingestion/blob-created-event.js';

const event = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
  topic: '/subscriptions/0/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stdlz',
  subject: '/blobServices/default/containers/dlz-abcdefghijklmnopqrstuvwxyz/blobs/in/a b/ü.csv.gpg',
  eventType: 'Microsoft.Storage.BlobCreated',
  id: '1',
  eventTime: '2026-12-07T00:00:00Z',
  dataVersion: '',
  metadataVersion: '1',
  data: { api: 'PutBlockList', eTag: '0x8DD1', url: 'https://stdlz.blob.core.windows.net/dlz-abcdefghijklmnopqrstuvwxyz/in/a%20b/%C3%BC.csv.gpg', ...data },
  ...over,
});

describe('BlobCreated events from the landing account', () => {
  it('names the container and the blob from the subject, with the event ETag', () => {
    expect(parseBlobCreatedEvent(event())).toEqual({ container: 'dlz-abcdefghijklmnopqrstuvwxyz', blobName: 'in/a b/ü.csv.gpg', etag: '0x8DD1' });
    // One event in an array (the Event Grid schema's batch form) is read the same.
    expect(parseBlobCreatedEvent([event()])?.blobName).toBe('in/a b/ü.csv.gpg');
  });

  it('never takes the blob from data.url, so an event cannot point at another host', () => {
    const parsed = parseBlobCreatedEvent(event({}, { url: 'https://attacker.example/other/blob' }));
    expect(parsed?.container).toBe('dlz-abcdefghijklmnopqrstuvwxyz');
  });

  it('ignores other events and malformed messages', () => {
    for (const message of [
      event({ eventType: 'Microsoft.Storage.BlobDeleted' }),
      event({ subject: '/blobServices/default/containers/dlz-x/blobs/' }),
      event({ subject: '/blobServices/default/containers/UPPER/blobs/a' }),
      event({ subject: '/blobServices/default/containers/dlz-abc/a' }),
      event({}, { eTag: '' }),
      event({ subject: `/blobServices/default/containers/dlz-abc/blobs/${'a'.repeat(1025)}` }),
      'not json',
      null,
      [event(), event()],
    ]) {
      expect(parseBlobCreatedEvent(message)).toBeUndefined();
    }
  });
});
