/**
 * Progress of a byte transfer on stderr: a redrawn bar (bytes, rate, ETA) on a terminal, and
 * plain lines otherwise (a log or a CI job), at most one per {@link PLAIN_INTERVAL_MS} plus the
 * first and the last, so logs stay short.
 */
export const PLAIN_INTERVAL_MS = 1000;
const BAR_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

export interface Progress {
  /** Bytes done so far (absolute). */
  update(doneBytes: number): void;
  /** Prints the final state. */
  finish(): void;
}

export interface ProgressOptions {
  readonly label: string;
  /** Bytes expected; `undefined` when unknown. */
  readonly total: number | undefined;
  readonly stream?: NodeJS.WriteStream;
  /** Milliseconds, monotonic (tests pass a fake). */
  readonly now?: () => number;
  /** Overrides the TTY detection: `false` forces plain lines. */
  readonly tty?: boolean;
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = options.tty ?? stream.isTTY;
  const started = now();
  let done = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let finished = false;

  const line = (final: boolean): string => {
    const elapsed = Math.max(now() - started, 1) / 1000;
    const rate = done / elapsed;
    const total = options.total;
    const parts = [`${options.label}:`];
    if (tty && total !== undefined && total > 0) {
      const filled = Math.round(Math.min(done / total, 1) * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
    }
    parts.push(`${formatBytes(done)}${total === undefined ? '' : ` / ${formatBytes(total)}`}`);
    if (total !== undefined && total > 0) parts.push(`${Math.floor((done / total) * 100)}%`);
    parts.push(`${formatBytes(rate)}/s`);
    if (final) parts.push(`done in ${formatDuration(elapsed)}`);
    else if (total !== undefined && rate > 0) parts.push(`ETA ${formatDuration(Math.max(total - done, 0) / rate)}`);
    return parts.join(' ');
  };

  const draw = (final: boolean): void => {
    if (tty) stream.write(`\r\x1b[2K${line(final)}${final ? '\n' : ''}`);
    else stream.write(`${line(final)}\n`);
  };

  return {
    update(doneBytes) {
      if (finished) return;
      done = doneBytes;
      const t = now();
      if (t - lastDraw >= (tty ? BAR_INTERVAL_MS : PLAIN_INTERVAL_MS)) {
        lastDraw = t;
        draw(false);
      }
    },
    finish() {
      if (finished) return;
      finished = true;
      if (options.total !== undefined) done = Math.max(done, options.total);
      draw(true);
    },
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
