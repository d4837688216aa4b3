import { describe, expect, it } from 'vitest';
import { loadConfigPart } from '../../shared/config/app-config.js';
import { createLogger } from '../../shared/logging/logger.js';

describe('logger', () => {
  it('takes its level from LOG_LEVEL and writes JSON lines with level names to the injected destination', () => {
    const raw: string[] = [];
    const log = createLogger({ level: loadConfigPart('logging', { LOG_LEVEL: 'warn' }).level, destination: { write: (l: string) => void raw.push(l) } });
    log.info('dropped');
    log.warn({ requestId: 'r1' }, 'kept');
    expect(raw).toHaveLength(1);
    expect(JSON.parse(raw[0] ?? '')).toMatchObject({ level: 'warn', requestId: 'r1', msg: 'kept', service: 'cipherflow' });
  });

  it('refuses an unknown LOG_LEVEL, naming the setting', () => {
    expect(() => loadConfigPart('logging', { LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL/);
  });

  it('logs an error as type, message, code and stack only, dropping attached request data', () => {
    const raw: string[] = [];
    const log = createLogger({ destination: { write: (l: string) => void raw.push(l) } });
    const err = Object.assign(new Error('upstream failed'), { code: 'E_UP', request: { headers: { authorization: 'Bearer leaked' } } });
    log.error({ err }, 'x');
    const line = JSON.parse(raw[0] ?? '') as { err: Record<string, unknown> };
    expect(Object.keys(line.err).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(raw[0]).not.toContain('leaked');
  });
});
