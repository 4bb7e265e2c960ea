export * from './logger.js';
export * from './load-config.js';
export * from './secret-files.js';
export * from './nats.js';
export * from './shutdown.js';
export * from './rate-limited-log.js';
export * from './settles-within.js';
