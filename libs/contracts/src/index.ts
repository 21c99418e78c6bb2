export * from './order-values';
export * from './events/order-events';
export * from './events/envelope';
export * from './events/routing';
export * from './commands/order-commands';
export * from './commands/order-command-messages';
export * from './consistency-token';
export * from './problem';
