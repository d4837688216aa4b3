/**
 * One line of the runtime's output as an object: the host's fields, and, for a line the app wrote
 * through an invocation's log (its JSON in `message`), the app's fields over them (`message` kept).
 * Undefined for a line that is not JSON.
 */
export function logEntry(line: string): Record<string, unknown> | undefined {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof entry.message !== 'string' || !entry.message.startsWith('{')) return entry;
  try {
    return { ...entry, ...(JSON.parse(entry.message) as Record<string, unknown>), message: entry.message };
  } catch {
    return entry;
  }
}
