export { PromptError } from './errors.js';
export { buildPrompt, llavaImageSeqLength } from './build.js';
export type { PromptPart, PromptTokenizer, BuildPromptOptions, BuiltPrompt, LlavaSeqLengthOptions } from './build.js';
