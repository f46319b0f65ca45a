export { buildPrompt, IMAGE_TOKEN, VIZWIZ_PREAMBLE, OPTION_INSTRUCTION, type Prompt, type PromptInput, type PromptOptions } from './formats.js';
