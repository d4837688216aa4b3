import { app, type InvocationContext } from '@azure/functions';
import type { AppServices } from '../../shared/app/services.js';
import { appConfig } from '../../shared/config/app-config.js';
import { appRoot } from '../../shared/app/root.js';
import { serveOperation, type AnyOperation } from '../../shared/http/operation.js';
import type { JobLog, QueueJob, TimerJob } from '../../shared/jobs/job.js';
import './app-setup.js';

/**
 * Registers a declared HTTP operation as the Azure Function of the same name: its method and
 * route as declared, anonymous at the host (the pipeline authenticates), every request run by
 * the app's pipeline with the app's services.
 */
export function registerHttp(operation: AnyOperation<AppServices>): void {
  app.http(operation.operationId, {
    methods: [operation.method],
    route: operation.route,
    authLevel: 'anonymous',
    handler: (req, ctx) => serveOperation(appRoot().pipeline, operation, req, () => appRoot().services(), { invocationId: ctx.invocationId }),
  });
}

/**
 * Registers the catch-all for every route no operation serves: 404 problem+json through the
 * pipeline (the host alone would answer an empty 404). Not an operation: it has no route of its own.
 */
export function registerCatchAll(name: string): void {
  app.http(name, {
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    route: '{*path}',
    authLevel: 'anonymous',
    handler: (req, ctx) => appRoot().pipeline.notFound(req, { invocationId: ctx.invocationId }),
  });
}

/** Registers a declared timer job: its schedule from the configuration, each run with the app's services. */
export function registerTimer(job: TimerJob<AppServices>): void {
  app.timer(job.name, {
    schedule: job.schedule(appConfig().triggers),
    runOnStartup: job.runOnStartup ?? false,
    handler: async (_timer, ctx) => job.run(await appRoot().services(), jobLog(ctx)),
  });
}

/** Registers a declared queue job: its queue from the configuration, each message with the app's services. */
export function registerQueue(job: QueueJob<AppServices>): void {
  app.storageQueue(job.name, {
    queueName: job.queueName(appConfig().triggers),
    connection: job.connection,
    handler: async (message, ctx) => job.run(message, await appRoot().services(), jobLog(ctx)),
  });
}

/** One JSON line per event through the invocation's log, which the host tags with the function and invocation. */
function jobLog(ctx: InvocationContext): JobLog {
  return (event, fields = {}) => ctx.log(JSON.stringify({ event, ...fields }));
}
