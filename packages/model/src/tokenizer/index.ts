export { TokenizerError } from './errors.js';
export { TextTokenizer, loadTokenizer, END_OF_TURN_TOKENS } from './tokenizer.js';
export type { EncodeOptions, DecodeOptions, ChatTemplateOptions, TokenizerFiles } from './tokenizer.js';
export { ChatTemplate, findChatTemplate, templateFromConfig } from './chat.js';
export type { ChatMessage, ChatContentPart, ChatTemplateSource } from './chat.js';
export type { SpecialToken, SpecialTokens } from './special.js';
export { buildWordLevelTokenizer, writeWordLevelTokenizer } from './build.js';
export type { WordLevelSpec, TokenizerJsonFiles } from './build.js';
