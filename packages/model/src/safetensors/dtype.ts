// safetensors dtype tags and their element sizes (huggingface/safetensors, Dtype in tensor.rs).

export const SAFETENSORS_DTYPES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type SafetensorsDType = keyof typeof SAFETENSORS_DTYPES;

/** The float dtypes that convert to f32 / packed f16. */
export type FloatDType = 'F32' | 'F16' | 'BF16' | 'F64';

export const isSafetensorsDType = (s: string): s is SafetensorsDType => Object.hasOwn(SAFETENSORS_DTYPES, s);
export const isFloatDType = (d: SafetensorsDType): d is FloatDType => d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F64';
export const dtypeSize = (d: SafetensorsDType): number => SAFETENSORS_DTYPES[d];
