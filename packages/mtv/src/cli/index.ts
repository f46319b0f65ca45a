export { main, buildProgram } from './program.js';
export { headsGrid } from './commands/inspect.js';
export type { CliIo } from './io.js';
