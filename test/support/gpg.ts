export { ensureGpg, GpgHome, type GpgResult } from '../../local/gpg.js';
