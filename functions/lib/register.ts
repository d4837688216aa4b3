import { app, type InvocationContext } from '@azure/functions';
import type { AppServices } from '../../shared/app/services.js';
import { appConfig } from '../../shared/config/app-config.js';
import { appRoot } from '../../shared/app/root.js';
import { serveOperation, type AnyOperation } from '../../shared/http/operation.js';
import type { JobLog, QueueJob, TimerJob } from '../../shared/jobs/job.js';
import { withInvocationLog } from '../../shared/logging/invocation-log.js';
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
    handler: (req, ctx) => withInvocationLog(ctx, () => serveOperation(appRoot().pipeline, operation, req, () => appRoot().services(), { invocationId: ctx.invocationId })),
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
    handler: (req, ctx) => withInvocationLog(ctx, () => appRoot().pipeline.notFound(req, { invocationId: ctx.invocationId })),
  });
}

/** Registers a declared timer job: its schedule from the configuration, each run with the app's services. */
export function registerTimer(job: TimerJob<AppServices>): void {
  app.timer(job.name, {
    schedule: job.schedule(appConfig().triggers),
    runOnStartup: job.runOnStartup ?? false,
    handler: (_timer, ctx) => withInvocationLog(ctx, async () => job.run(await appRoot().services(), jobLog(job.name, ctx))),
  });
}

/** Registers a declared queue job: its queue from the configuration, each message with the app's services. */
export function registerQueue(job: QueueJob<AppServices>): void {
  app.storageQueue(job.name, {
    queueName: job.queueName(appConfig().triggers),
    connection: job.connection,
    handler: (message, ctx) => withInvocationLog(ctx, async () => job.run(message, await appRoot().services(), jobLog(job.name, ctx))),
  });
}

/**
 * A job's events through the app's one logger (level, redaction, format as the HTTP requests'),
 * which writes them to the invocation's log.
 */
function jobLog(name: string, ctx: InvocationContext): JobLog {
  const logger = appRoot().logger.child({ function: name, invocationId: ctx.invocationId });
  return (event, fields = {}) => logger.info({ ...fields, event }, event);
}
