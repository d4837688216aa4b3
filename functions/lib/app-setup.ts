import { app } from '@azure/functions';

// HTTP streaming: request and response bodies flow as streams between the host and the worker,
// so a large download or upload is never buffered whole (needs Functions host 4.28+).
app.setup({ enableHttpStream: true });
