import { startTracing } from '@orders/platform/tracing';

// main.ts imports this module first: the SDK must patch http and mongodb before they load.
startTracing('query-service', process.env);
