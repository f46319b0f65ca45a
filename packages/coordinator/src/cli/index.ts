export { ProgressView } from './progress.js';
export { formatResultTable } from './table.js';
export { runCoordinatorCli, coordinatorProgram, resultJson } from './coordinator-command.js';
export { QUICK, REFERENCE, addSpecOptions, generationMaxNewTokens, specFromFlags, type SpecFlags } from './spec-options.js';
export { parseCommand } from './parse-command.js';
export { exitWhenDone } from './exit-when-done.js';
