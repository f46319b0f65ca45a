/** A malformed or unreadable safetensors file; the message names the file and, where known, the tensor. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | null,
    message: string,
  ) {
    super(`${file}${tensor === null ? '' : `: tensor '${tensor}'`}: ${message}`);
    this.name = 'SafetensorsError';
  }
}
