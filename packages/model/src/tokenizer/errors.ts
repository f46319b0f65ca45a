/** A tokenizer that cannot be loaded or used; the message names the tokenizer's source (directory or file). */
export class TokenizerError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`tokenizer ${source}: ${message}`);
    this.name = 'TokenizerError';
  }
}
