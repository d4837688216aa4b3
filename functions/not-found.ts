import { registerCatchAll } from './lib/register.js';

/** Any route no other function serves: 404 problem+json (the host alone would answer an empty 404). */
registerCatchAll('not-found');
