export { logEntry, peakRss, repoRoot, startRuntime, type RuntimeProcess } from '../../local/runtime-process.js';
