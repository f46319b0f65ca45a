// Shared by the kernels that pick a variant per adapter (matmul, attention): the env override,
// validated so that a typo never silently runs the default, and one-time warnings for fallbacks.
import { KernelError } from './errors.js';

/** `env[name]` as one of `variants`; undefined when unset or empty; a KernelError of `kernel` otherwise. */
export function envVariant<T extends string>(kernel: string, name: string, variants: readonly T[], env: Record<string, string | undefined>): T | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!(variants as readonly string[]).includes(v)) throw new KernelError(kernel, `${name}=${v} is not a variant; use one of ${variants.join(', ')}`);
  return v as T;
}

const warned = new Set<string>();

/** console.warn(message) the first time `key` is seen in this process (a bench loop does not repeat it). */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  console.warn(message);
}
