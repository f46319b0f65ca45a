/** A prompt that cannot be built: placeholder/image count mismatch, or a tokenizer that splits the image token. */
export class PromptError extends Error {
  constructor(message: string) {
    super(`buildPrompt: ${message}`);
    this.name = 'PromptError';
  }
}
