export type { ExpectedTensor, FamilyName, ImageInput, ModelConfigBase, ModelFamily, PixelBatch, PreparedPrompt, Processor, PromptInput, ReferenceTensors, ShardConfigs, ShardFolder, ShardLayout, WeightUploader } from './types.js';
export { FAMILIES, expectedTensors, familyOf, familyOfConfigJson, loadModelConfig, supportedFamilies, type ModelConfig } from './registry.js';
export * from './llava/index.js';
export * from './idefics3/index.js';
export * from './idefics2/index.js';
export * from './vila/index.js';
export * from './qwen2-vl/index.js';
export * from './llava-next/index.js';
