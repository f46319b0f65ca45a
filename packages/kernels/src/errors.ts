/** Every kernel error names the kernel and the shapes involved, so a bad call is never a silent wrong result. */
export class KernelError extends Error {
  constructor(readonly kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = 'KernelError';
  }
}

/** The device was lost (driver reset, destroy, out of memory); pending work rejects with this instead of hanging. */
export class DeviceLostError extends Error {
  constructor(readonly reason: string, message: string) {
    super(`GPU device lost (${reason}): ${message}`);
    this.name = 'DeviceLostError';
  }
}

export const fmtShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;
