// Which matmul path a product takes on this device: the variant (tuning.ts), and whether the f16
// load path (shader-f16) and the subgroup reduction (subgroups) are used. A path asked for whose
// feature the device lacks falls back to the plain one, with a one-line reason logged once.
import type { AdapterReport } from '../../device.js';
import { envVariant, warnOnce } from '../../variant-choice.js';
import { MATMUL_VARIANTS, defaultMatmulVariant, type MatmulVariant } from './tuning.js';

export interface MatmulRequest {
  /** Force a variant; else env MTV_MATMUL_VARIANT, else the tuning table. */
  variant?: MatmulVariant;
  /** f16 W loads with shader-f16: default on where granted; `true` asks for it (falls back, logged). */
  f16?: boolean;
  /** subgroupAdd reduction in 'gemv': default on where granted; `true` asks for it (falls back, logged). */
  subgroups?: boolean;
}

export interface MatmulPlan {
  variant: MatmulVariant;
  /** W is f16 and bound as array<f16> (enable f16). */
  f16: boolean;
  /** 'gemv' reduces with subgroupAdd (enable subgroups). */
  subgroups: boolean;
  /** Why an asked-for path was not taken (empty when everything asked for is used). */
  fallbacks: string[];
}

type Features = Pick<AdapterReport, 'cpuAdapter' | 'shaderF16' | 'subgroups' | 'backend' | 'description'>;

/** The env override, validated: a typo must not silently run the default variant. */
export function envMatmulVariant(env: Record<string, string | undefined> = process.env): MatmulVariant | undefined {
  return envVariant('matmul', 'MTV_MATMUL_VARIANT', MATMUL_VARIANTS, env);
}

export function planMatmul(report: Features, m: number, wDtype: 'f32' | 'f16', req: MatmulRequest = {}, env: Record<string, string | undefined> = process.env): MatmulPlan {
  const variant = req.variant ?? envMatmulVariant(env) ?? defaultMatmulVariant(report, m);
  const fallbacks: string[] = [];
  const where = `${report.backend} adapter "${report.description}"`;
  let f16 = wDtype === 'f16' && variant !== 'register' && req.f16 !== false && report.shaderF16;
  if (req.f16 === true && !f16) {
    const why = wDtype !== 'f16' ? 'W is f32' : variant === 'register' ? "the 'register' variant has no f16 path" : `shader-f16 was not granted on the ${where}`;
    fallbacks.push(`f16 loads asked for but not used (${why}); W is read through unpack2x16float`);
    f16 = false;
  }
  let subgroups = variant === 'gemv' && req.subgroups !== false && report.subgroups;
  if (req.subgroups === true && !subgroups) {
    const why = variant !== 'gemv' ? `only 'gemv' has a subgroup path (this is '${variant}')` : `subgroups was not granted on the ${where}`;
    fallbacks.push(`subgroup reduction asked for but not used (${why}); gemv reduces through workgroup memory`);
    subgroups = false;
  }
  return { variant, f16, subgroups, fallbacks };
}

/**
 * Logs each fallback reason as one line: to console.warn once per process (a bench loop does not
 * repeat it), or every time to a given `log`.
 */
export function logFallbacks(plan: MatmulPlan, log?: (line: string) => void): void {
  for (const f of plan.fallbacks) {
    if (log) log(`matmul: ${f}`);
    else warnOnce(f, `matmul: ${f}`);
  }
}
