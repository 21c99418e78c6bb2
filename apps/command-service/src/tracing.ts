import { startTracing } from '@orders/platform/tracing';

// main.ts imports this module first: the SDK must patch http and pg before they load.
startTracing('command-service', process.env);
