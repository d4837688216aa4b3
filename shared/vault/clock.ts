/** Time as the vault layer sees it; tests pass a fixed or stepping clock instead of waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
