import { app } from '@azure/functions';
import { appRoot } from '../../shared/app/root.js';

// HTTP streaming: request and response bodies flow as streams between the host and the worker,
// so a large download or upload is never buffered whole (needs Functions host 4.28+).
app.setup({ enableHttpStream: true });

// Build the composition root while the app loads, not on the first request: it parses every
// setting, so a bad one (no AUTH_JWKS_URL outside local mode, the development issuer in
// production, ...) stops the start with a ConfigError naming it, instead of an app that answers
// every call with a 500.
appRoot();
