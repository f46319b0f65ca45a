export { main as runMtvCli, buildProgram as buildMtvProgram } from './program.js';
export { headsGrid } from './commands/inspect.js';
export type { CliIo } from './io.js';
export { exitOnBrokenPipe } from '@mtv/kernels';
