import type { Command } from 'commander';
import { FlowRun, itemsOf } from '../../shared/api/openapi/response-schemas.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { parseSeconds, pollUntil } from '../watch.js';

/**
 * `cipherflow runs --flow ID [--file PATH] [--watch]`: one run per landed file. With `--watch`,
 * waits until the file's run (or, without `--file`, every run and at least one) has finished;
 * exits 5 when a run it reports failed.
 */
export function registerRuns(program: Command, ctx: CliContext): void {
  program
    .command('runs')
    .description(`list a flow's runs, one per file (exit ${EXIT.FAILED} if a listed run failed)`)
    .requiredOption('--flow <id>', 'the flow')
    .option('--file <path>', 'only the runs of this file (as the flow sees it, e.g. incoming/a.csv.gpg)')
    .option('--watch', 'wait until the runs have finished')
    .option('--timeout <seconds>', 'how long --watch waits', parseSeconds, 300)
    .option('--interval <seconds>', 'how often --watch asks', parseSeconds, 1)
    .action(async (opts: { flow: string; file?: string; watch?: boolean; timeout: number; interval: number }) => {
      const api = await ctx.api();
      const path = `/data/foundation/flowservice/runs?property=${encodeURIComponent(`flowId==${opts.flow}`)}`;
      const fetchRuns = async (): Promise<FlowRun[]> => {
        const { items } = await api.json('GET', path, itemsOf(FlowRun));
        return opts.file === undefined ? items : items.filter((r) => r.fileName === opts.file?.replace(/^\//, ''));
      };
      const runs =
        opts.watch === true
          ? await pollUntil(
              async () => {
                const items = await fetchRuns();
                if (opts.watch === true && !process.stderr.isTTY) process.stderr.write(`runs: ${summary(items)}\n`);
                return items.length > 0 && items.every((r) => r.status !== 'inProgress') ? items : undefined;
              },
              {
                intervalMs: opts.interval * 1000,
                timeoutMs: opts.timeout * 1000,
                what: opts.file === undefined ? 'the runs' : `the run of ${opts.file}`,
              },
            )
          : await fetchRuns();
      // With --file, the newest run of the file is its current version's.
      const shown = opts.file === undefined ? runs : runs.slice(0, 1);
      ctx.print(shown.length === 0 ? ['no runs'] : shown.map(describeRun), shown);
      if (shown.some((r) => r.status === 'failed')) process.exitCode = EXIT.FAILED;
    });
}

function describeRun(run: FlowRun): string {
  const records = run.metrics.recordCount === undefined ? '' : ` ${run.metrics.recordCount} records`;
  const detail =
    run.status === 'failed'
      ? ` ${run.errors.map((e) => `${e.code}: ${e.message}`).join('; ')}`
      : run.batchId === undefined
        ? ''
        : ` batch ${run.batchId}`;
  return `${run.status.padEnd(10)} ${run.fileName}  ${run.metrics.inputBytes} → ${run.metrics.outputBytes} bytes${records}${detail}`;
}

function summary(runs: readonly FlowRun[]): string {
  const count = (s: FlowRun['status']) => runs.filter((r) => r.status === s).length;
  return `${runs.length} run(s): ${count('success')} success, ${count('failed')} failed, ${count('inProgress')} in progress`;
}
