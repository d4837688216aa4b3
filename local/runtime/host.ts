import type { CoreApi } from './core-api.js';
import type { RuntimeLogger } from './logger.js';
import type { Settings } from './settings.js';

/** What a trigger listener (blob, timer) gives the host: a way to stop it. */
export interface TriggerListener {
  /** Stops taking new work and resolves once in-flight invocations have finished. */
  close(): Promise<void>;
}

/** What every trigger listener is started with. */
export interface ListenerContext {
  readonly core: CoreApi;
  readonly settings: Settings;
  readonly logger: RuntimeLogger;
  /** Identifies this app's receipts and locks in storage, as the host id does in Azure. */
  readonly hostId: string;
}
