export { ApiClient, apiHeaders, waitForRun, type Run } from '../../local/api-client.js';
