import { describe, expect, it } from 'vitest';
import { killSwitch, parseKillAt } from '../../local/runtime/kill-switch.js';
import { createRuntimeLogger } from '../../local/runtime/logger.js';

describe("the local runtime's kill switch (crash tests)", () => {
  it('reads <event>:<count> and refuses anything else', () => {
    expect(parseKillAt(undefined)).toBeUndefined();
    expect(parseKillAt(' ')).toBeUndefined();
    expect(parseKillAt('cmk-sandbox-rewrapped:2')).toEqual({ event: 'cmk-sandbox-rewrapped', count: 2 });
    for (const bad of ['cmk-sandbox-rewrapped', 'x:0', 'x:-1', 'Evil Event:1', 'x:1:2']) expect(() => parseKillAt(bad)).toThrow(/CIPHERFLOW_KILL_AT/);
  });

  it("kills at the app's n-th line of the event, as the runtime logger writes it, and not before", () => {
    let kills = 0;
    const watch = killSwitch({ event: 'cmk-sandbox-rewrapped', count: 2 }, () => {
      kills += 1;
    });
    const log = createRuntimeLogger('information', watch).child({ functionName: 'cmk-reconcile', invocationId: 'i' });
    log.write('information', 'user', JSON.stringify({ event: 'cmk-sandbox-rewrapped', sandbox: 'a' }));
    log.write('information', 'user', JSON.stringify({ event: 'cmk-other', sandbox: 'b' }));
    log.write('information', 'user', 'cmk-sandbox-rewrapped as plain text');
    expect(kills).toBe(0);
    log.write('information', 'user', JSON.stringify({ event: 'cmk-sandbox-rewrapped', sandbox: 'c' }));
    expect(kills).toBe(1);
  });
});
