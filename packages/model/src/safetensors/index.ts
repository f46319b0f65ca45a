export { SAFETENSORS_DTYPES, dtypeSize, isFloatDType, isSafetensorsDType, type FloatDType, type SafetensorsDType } from './dtype.js';
export { SafetensorsError } from './errors.js';
export { MAX_HEADER_BYTES, parseHeader, parseHeaderLength, type SafetensorsHeader, type TensorInfo } from './header.js';
export { firstNonFinite, firstNonFiniteF16Packed, toF16Packed, toFloat32, toFloat64, typedView, type TypedTensorData } from './convert.js';
export { SafetensorsFile, readExactly } from './reader.js';
export { encodeFloats, encodeSafetensors, f32ToBf16Bits, writeSafetensors, type TensorInput, type TensorMap } from './writer.js';
