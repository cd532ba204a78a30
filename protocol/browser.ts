// The part of protocol/ the console's browser bundle may use (scripts/build-console.ts resolves
// protocol/index.js to this file): no Node modules here.
export * from './schedule/index.js';
export * from './session-client-frames.js';
