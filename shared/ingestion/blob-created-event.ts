import { z } from 'zod';

/** The blob version a `Microsoft.Storage.BlobCreated` event names. */
export interface BlobCreated {
  readonly container: string;
  readonly blobName: string;
  readonly etag: string;
}

const SUBJECT = /^\/blobServices\/default\/containers\/([a-z0-9](?:[a-z0-9-]{1,61})[a-z0-9])\/blobs\/(.+)$/s;

// Event Grid schema (what the landing account's system topic delivers to the queue); other members are ignored.
const EventGridEvent = z.object({
  eventType: z.string(),
  subject: z.string().max(2048),
  data: z.object({ eTag: z.string().min(1).max(256) }),
});

/**
 * Reads a BlobCreated event of the landing account, as Event Grid delivers it to the ingestion
 * queue (one event per message; Event Grid schema). The container and blob come from `subject`;
 * `data.url` is not used, so no event can point the app at another host. Pure.
 *
 * @returns `undefined` for anything else (another event type, a malformed message).
 */
export function parseBlobCreatedEvent(message: unknown): BlobCreated | undefined {
  const parsed = EventGridEvent.safeParse(Array.isArray(message) && message.length === 1 ? message[0] : message);
  if (!parsed.success || parsed.data.eventType !== 'Microsoft.Storage.BlobCreated') return undefined;
  const match = SUBJECT.exec(parsed.data.subject);
  const container = match?.[1];
  const blobName = match?.[2];
  if (container === undefined || blobName === undefined || blobName.length > 1024) return undefined;
  return { container, blobName, etag: parsed.data.data.eTag };
}
