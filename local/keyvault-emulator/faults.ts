import type { VaultOperation } from './operations.js';

/** A fault the next matching vault requests suffer (admin/test helper). */
export type FaultSpec =
  | {
      /** Answer with this status and Key Vault's error body (e.g. 503 ServiceUnavailable, 429 Throttled). */
      kind: 'status';
      status: number;
      /** How many requests to fail. */
      count: number;
      /** Only these operations; all when absent. */
      operations?: VaultOperation[] | undefined;
      /** Adds `Retry-After`, which the SDK's throttling policy honours. */
      retryAfterSeconds?: number | undefined;
    }
  | {
      /** Hold the request without answering, for `ms` or (absent) until the emulator closes. */
      kind: 'stall';
      count: number;
      ms?: number | undefined;
      operations?: VaultOperation[] | undefined;
    };

/** Queue of armed faults; each request consumes at most one. */
export class FaultInjector {
  #faults: { spec: FaultSpec; remaining: number }[] = [];

  /** Arms a fault (appended after those already armed). */
  add(spec: FaultSpec): void {
    if (!Number.isInteger(spec.count) || spec.count < 1) throw new RangeError('KV_EMULATOR_BAD_FAULT: count must be ≥ 1');
    if (spec.kind === 'status' && (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599)) {
      throw new RangeError('KV_EMULATOR_BAD_FAULT: status must be 4xx or 5xx');
    }
    this.#faults.push({ spec, remaining: spec.count });
  }

  /** Disarms every fault. */
  clear(): void {
    this.#faults = [];
  }

  /** Faults still armed, with what is left of their counts. */
  list(): { spec: FaultSpec; remaining: number }[] {
    return this.#faults.map((f) => ({ spec: f.spec, remaining: f.remaining }));
  }

  /** Takes the first armed fault matching `operation`, if any. */
  take(operation: VaultOperation): FaultSpec | undefined {
    const index = this.#faults.findIndex((f) => !f.spec.operations || f.spec.operations.includes(operation));
    const fault = this.#faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.splice(index, 1);
    return fault.spec;
  }
}

/** Per-operation request counters (admin/test helper), so tests and benchmarks can count vault calls. */
export class RequestCounters {
  #counts = new Map<string, number>();

  increment(name: VaultOperation | 'unauthenticated' | 'faulted' | 'token'): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  /** A snapshot `{ operation: count }`; operations never called are absent. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#counts.clear();
  }
}
