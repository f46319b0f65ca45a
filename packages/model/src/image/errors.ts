/** An image that cannot be decoded or preprocessed; the message names the image's source (file or buffer). */
export class ImageError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(`image ${source}: ${message}`);
    this.name = 'ImageError';
  }
}
