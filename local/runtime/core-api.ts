/**
 * The `@azure/functions-core` module, as the Azure Functions Node.js worker provides it.
 *
 * @azure/functions v4 does `require('@azure/functions-core')` and, when it resolves, registers
 * every `app.http` / `app.storageBlob` / `app.timer` call through it and hands it its programming
 * model. The real worker makes that module exist by intercepting `require`; the local runtime does
 * the same (see `load-app.ts`), so the app's code runs through the library exactly as in Azure.
 * The interface mirrors the library's `types-core` declaration (the subset the library uses).
 */
import type { FunctionMetadata, HookCallback, ProgrammingModel, RpcLogCategory, RpcLogLevel } from './core-types.js';

export type FunctionCallback = (...args: unknown[]) => unknown;

export interface Registration {
  readonly metadata: FunctionMetadata;
  readonly callback: FunctionCallback;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';

/** A handle returned by register calls, as the worker's `Disposable`. */
export class Disposable {
  readonly #dispose: () => void;
  constructor(dispose: () => void) {
    this.#dispose = dispose;
  }
  dispose(): void {
    this.#dispose();
  }
}

export type SystemLogSink = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

/** State behind the module: what the app registered while it was loading. */
export class CoreApi {
  readonly registrations = new Map<string, Registration>();
  readonly hooks = new Map<HookName, Set<HookCallback>>();
  programmingModel: ProgrammingModel | undefined;
  #loaded = false;

  constructor(private readonly sink: SystemLogSink) {}

  /** The object `require('@azure/functions-core')` returns. */
  module(): Record<string, unknown> {
    return {
      version: '3.12.0',
      hostVersion: '4.1040.0',
      Disposable,
      setProgrammingModel: (model: ProgrammingModel) => {
        this.programmingModel = model;
      },
      getProgrammingModel: () => this.programmingModel,
      registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) => {
        if (this.#loaded) {
          throw new Error('A function can only be registered during app startup.');
        }
        const name = metadata.name;
        if (this.registrations.has(name)) {
          throw new Error(`A function with the name "${name}" has already been registered.`);
        }
        this.registrations.set(name, { metadata, callback });
        return new Disposable(() => this.registrations.delete(name));
      },
      registerHook: (hookName: string, callback: HookCallback) => {
        if (!isHookName(hookName)) {
          throw new RangeError(`Unrecognized hook "${hookName}"`);
        }
        let set = this.hooks.get(hookName);
        if (set === undefined) {
          set = new Set();
          this.hooks.set(hookName, set);
        }
        const hooks = set;
        hooks.add(callback);
        return new Disposable(() => hooks.delete(callback));
      },
      log: (level: RpcLogLevel, category: RpcLogCategory, message: string) => this.sink(level, category, message),
    };
  }

  /** Called once the app's entry points are imported: registrations are closed from then on. */
  markLoaded(): void {
    this.#loaded = true;
  }

  async runHooks(name: HookName, context: Record<string, unknown>): Promise<void> {
    for (const hook of this.hooks.get(name) ?? []) {
      await hook(context);
    }
  }
}

function isHookName(name: string): name is HookName {
  return ['appStart', 'appTerminate', 'preInvocation', 'postInvocation', 'log'].includes(name);
}
