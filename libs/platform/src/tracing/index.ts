export * from './tracing-settings';
export * from './start-tracing';
export * from './trace-context';
export * from './messaging-spans';
