import type { MachineInfo } from './machine.js';

/** What a figure is compared with: `value` (or `ratio`, when a reference is measured) against `bound`. */
export interface Target {
  readonly compare: 'value' | 'ratio';
  readonly op: '>=' | '<=';
  readonly bound: number;
}

/** One measured figure, side by side with its reference from the same run. */
export interface Figure {
  readonly id: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the value is measured against, in the same run (absent: an absolute target). */
  readonly reference?: { readonly name: string; readonly value: number; readonly unit: string };
  /** value / reference.value when a reference is given. */
  readonly ratio?: number;
  /** Absent: informational (the issue sets no target). */
  readonly target?: Target;
  /** Absent when there is no target. */
  readonly met?: boolean;
  /** A short remark printed with the figure (a breakdown, a caveat). */
  readonly note?: string;
  /** Raw measurements behind the figure (times, repetitions, breakdowns). */
  readonly details: Record<string, unknown>;
}

export interface Results {
  readonly mode: 'quick' | 'full';
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: MachineInfo;
  readonly figures: readonly Figure[];
}

/** Builds a figure, computing the ratio and whether its target is met. */
export function figure(f: Omit<Figure, 'ratio' | 'met'>): Figure {
  const ratio = f.reference === undefined || f.reference.value === 0 ? undefined : f.value / f.reference.value;
  let met: boolean | undefined;
  if (f.target !== undefined) {
    const compared = f.target.compare === 'ratio' ? ratio : f.value;
    met =
      compared !== undefined &&
      Number.isFinite(compared) &&
      (f.target.op === '>=' ? compared >= f.target.bound : compared <= f.target.bound);
  }
  return { ...f, ...(ratio === undefined ? {} : { ratio }), ...(met === undefined ? {} : { met }) };
}

/** A figure that could not be measured (the error goes in its details; the target is not met). */
export function failedFigure(id: string, name: string, unit: string, target: Target | undefined, err: unknown): Figure {
  return {
    id,
    name,
    value: Number.NaN,
    unit,
    ...(target === undefined ? {} : { target, met: false }),
    details: { error: err instanceof Error ? (err.stack ?? err.message) : String(err) },
  };
}

/** Three significant digits, without exponent notation for the sizes we print. */
export function num(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(2);
}

function targetText(t: Target, unit: string): string {
  return t.compare === 'ratio' ? `ratio ${t.op} ${t.bound}` : `${t.op} ${num(t.bound)} ${unit}`;
}

/** The markdown table the README shows, with the machine it ran on. */
export function markdown(results: Results): string {
  const m = results.machine;
  const lines = [
    `Benchmarks (\`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`), ${results.startedAt.slice(0, 10)}: ` +
      `${m.cpuModel}, ${m.cores} cores, ${num(m.memoryGiB)} GiB, Node ${m.node}, ${m.os}; ` +
      `load average ${m.loadAverage.start.map(num).join('/')} at start, ${m.loadAverage.end.map(num).join('/')} at end; ` +
      `${num(results.durationSeconds)} s.`,
    '',
    '| # | figure | value | reference (same run) | ratio | target | met | notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const f of results.figures) {
    const reference =
      f.reference === undefined ? '' : `${f.reference.name}: ${num(f.reference.value)} ${f.reference.unit}`;
    const ratio = f.ratio === undefined ? '' : num(f.ratio);
    const target = f.target === undefined ? '(none)' : targetText(f.target, f.unit);
    const met = f.met === undefined ? '' : f.met ? 'yes' : '**no**';
    lines.push(
      `| ${f.id} | ${f.name} | ${num(f.value)} ${f.unit} | ${reference} | ${ratio} | ${target} | ${met} | ${f.note ?? ''} |`,
    );
  }
  return lines.join('\n') + '\n';
}
