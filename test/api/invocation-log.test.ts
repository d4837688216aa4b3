import { describe, expect, it } from 'vitest';
import { invocationDestination, withInvocationLog } from '../../shared/logging/invocation-log.js';
import { createLogger } from '../../shared/logging/logger.js';

describe("the app logger's destination: the invocation's own log", () => {
  it('writes each line to the log of the invocation that wrote it, by level, redacted as always', async () => {
    const logger = createLogger({ destination: invocationDestination, level: 'info' });
    const seen = (name: string) => {
      const lines: [string, string][] = [];
      return {
        lines,
        log: (m: string) => lines.push(['log', `${name} ${m}`]),
        warn: (m: string) => lines.push(['warn', `${name} ${m}`]),
        error: (m: string) => lines.push(['error', `${name} ${m}`]),
      };
    };
    const a = seen('a');
    const b = seen('b');
    await Promise.all([
      withInvocationLog(a, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        logger.info({ event: 'one', passPhrase: 'secret' }, 'one');
        logger.error({ event: 'two' }, 'two');
      }),
      withInvocationLog(b, async () => {
        logger.warn({ event: 'three' }, 'three');
        await Promise.resolve();
        logger.debug({ event: 'below the level' }, 'nothing');
      }),
    ]);
    expect(a.lines.map(([kind, line]) => [kind, JSON.parse(line.slice(2)) as Record<string, unknown>])).toEqual([
      ['log', expect.objectContaining({ level: 'info', event: 'one', passPhrase: '[REDACTED]' })],
      ['error', expect.objectContaining({ level: 'error', event: 'two' })],
    ]);
    expect(b.lines.map(([kind, line]) => [kind, (JSON.parse(line.slice(2)) as { event: string }).event])).toEqual([
      ['warn', 'three'],
    ]);
    expect(a.lines.concat(b.lines).every(([, line]) => !line.endsWith('\n'))).toBe(true);
  });

  it('writes to stdout outside any invocation, and once the invocation that started the work has ended', async () => {
    const logger = createLogger({ destination: invocationDestination });
    const lines: string[] = [];
    const sink = {
      log: (m: string) => lines.push(m),
      warn: (m: string) => lines.push(m),
      error: (m: string) => lines.push(m),
    };
    let later: Promise<string[]> = Promise.resolve([]);
    await withInvocationLog(sink, () => {
      logger.info({ event: 'during' }, 'during');
      later = new Promise((resolve) => setTimeout(resolve, 10)).then(() =>
        captureStdout(() => logger.info({ event: 'after' }, 'after')),
      );
      return Promise.resolve();
    });
    const afterLines = await later;
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['during']);
    expect(afterLines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['after']);
  });

  it('writes to stdout outside any invocation', () => {
    const written: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    process.stdout.write = (chunk: string) => {
      written.push(chunk);
      return true;
    };
    try {
      createLogger({ destination: invocationDestination }).info({ event: 'start-up' }, 'start-up');
    } finally {
      process.stdout.write = original;
    }
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0] ?? '{}')).toMatchObject({ event: 'start-up' });
  });
});

/** What `fn` writes to stdout. */
function captureStdout(fn: () => void): string[] {
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    written.push(chunk);
    return true;
  });
  try {
    fn();
  } finally {
    process.stdout.write = original;
  }
  return written;
}
