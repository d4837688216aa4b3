import { appConfig, type TriggerSettings } from './config/app-config.js';

/**
 * The triggers' settings (queue, schedules, ingestion limits) from the process's one
 * configuration: trigger registrations read them as the app loads, so a bad setting (any, not
 * only theirs) stops the start.
 * @throws ConfigError naming every missing or malformed setting.
 */
export function triggerSettings(): TriggerSettings {
  return appConfig().triggers;
}
