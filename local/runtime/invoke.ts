import { randomUUID } from 'node:crypto';
import { statusCodeOf } from '../../shared/core/azure-errors.js';
import type { CoreApi, Registration } from './core-api.js';
import type { CoreInvocationContext, RpcInvocationRequest, RpcInvocationResponse, RpcLogCategory, RpcLogLevel } from './core-types.js';
import type { RuntimeLogger } from './logger.js';

export interface InvocationInput {
  readonly inputData: NonNullable<RpcInvocationRequest['inputData']>;
  readonly triggerMetadata: NonNullable<RpcInvocationRequest['triggerMetadata']>;
  readonly retryContext?: RpcInvocationRequest['retryContext'];
  readonly invocationId?: string;
}

/**
 * Runs one invocation through the app's programming model, in the order the Node.js worker
 * uses: getInvocationModel → getArguments → preInvocation hooks → invokeFunction →
 * postInvocation hooks → getResponse. A handler error propagates to the caller (the trigger),
 * which decides what the host would do (500, retry, poison).
 */
export async function invoke(
  core: CoreApi,
  registration: Registration,
  input: InvocationInput,
  logger: RuntimeLogger,
): Promise<RpcInvocationResponse> {
  const model = core.programmingModel;
  if (model === undefined) {
    throw new Error('The app registered no programming model (is @azure/functions loaded?).');
  }
  const invocationId = input.invocationId ?? randomUUID();
  const functionName = registration.metadata.name;
  const log = logger.child({ functionName, invocationId });
  const coreContext: CoreInvocationContext = {
    invocationId,
    metadata: registration.metadata,
    request: {
      invocationId,
      functionId: functionName,
      inputData: input.inputData,
      triggerMetadata: input.triggerMetadata,
      retryContext: input.retryContext ?? null,
    },
    log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => log.write(level, category, message),
  };
  const started = performance.now();
  log.write('information', 'system', `Executing '${functionName}' (Id=${invocationId})`);
  try {
    const invocationModel = model.getInvocationModel(coreContext);
    const { context, inputs } = await invocationModel.getArguments();

    const appHookData: Record<string, unknown> = {};
    const hookData: Record<string, unknown> = {};
    const pre: Record<string, unknown> = {
      invocationContext: context,
      inputs,
      functionCallback: registration.callback,
      hookData,
      appHookData,
    };
    coreContext.state = 'preInvocationHooks';
    await core.runHooks('preInvocation', pre);
    const callback = pre.functionCallback as Registration['callback'];
    const finalInputs = pre.inputs as unknown[];

    coreContext.state = 'invocation';
    let result: unknown;
    let error: unknown;
    try {
      result = await invocationModel.invokeFunction(context, finalInputs, callback);
    } catch (err) {
      error = err;
    }
    const post: Record<string, unknown> = {
      invocationContext: context,
      inputs: finalInputs,
      result,
      error,
      hookData,
      appHookData,
    };
    coreContext.state = 'postInvocationHooks';
    await core.runHooks('postInvocation', post);
    if (post.error !== undefined && post.error !== null) {
      // A handler may throw anything; it is rethrown as is, as the worker does.
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw post.error;
    }
    const response = await invocationModel.getResponse(context, post.result);
    log.write('information', 'system', `Executed '${functionName}' (Succeeded, Id=${invocationId}, Duration=${Math.round(performance.now() - started)}ms)`);
    return response;
  } catch (err) {
    // As the host does: the exception's type with its message (an SDK error may have no message,
    // so its status and code say why).
    const message = describeError(err);
    log.write('error', 'system', `Executed '${functionName}' (Failed, Id=${invocationId}, Duration=${Math.round(performance.now() - started)}ms): ${message}`);
    throw err;
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const statusCode = statusCodeOf(err);
  const { code } = err as { code?: unknown };
  const details = [statusCode === undefined ? '' : `status ${statusCode}`, typeof code === 'string' ? code : ''].filter((d) => d !== '');
  const message = err.message === '' ? '' : `: ${err.message}`;
  return `${err.name}${message}${details.length === 0 ? '' : ` (${details.join(', ')})`}`;
}
