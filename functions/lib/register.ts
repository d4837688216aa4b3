import { app } from '@azure/functions';
import { appServices } from '../../shared/azure/app-services.js';
import { appPipeline } from '../../shared/http/app-pipeline.js';
import { serveOperation, type AnyOperation } from '../../shared/http/operation.js';
import type { AppServices } from '../../shared/azure/app-services.js';
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
    handler: (req, ctx) => serveOperation(appPipeline(), operation, req, appServices, { invocationId: ctx.invocationId }),
  });
}
