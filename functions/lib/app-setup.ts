import { app } from '@azure/functions';
import { appPipeline } from '../../shared/app/pipeline.js';

// HTTP streaming: request and response bodies flow as streams between the host and the worker,
// so a large download or upload is never buffered whole (needs Functions host 4.28+).
app.setup({ enableHttpStream: true });

// Build the request pipeline while the app loads, not on the first request: a bad auth setting
// (no AUTH_JWKS_URL outside local mode, the development issuer in production, ...) then stops
// the start with a ConfigError naming it, instead of an app that answers every call with a 500.
appPipeline();
