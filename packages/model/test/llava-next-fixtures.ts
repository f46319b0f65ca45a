// The published LLaVA-NeXT / OneVision configs the llava-next tests parse (config.json,
// preprocessor_config.json, processor_config.json of the llava-hf repos; VLM_FAMILIES.md 3.1).
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];
const NEXT_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]];

/** llava-hf/llava-v1.6-mistral-7b-hf: config.json, preprocessor_config.json, processor_config.json (VLM_FAMILIES.md 3.1). */
export const MISTRAL_7B = {
  config: {
    architectures: ['LlavaNextForConditionalGeneration'], model_type: 'llava_next', image_token_index: 32000, image_grid_pinpoints: NEXT_PINPOINTS,
    projector_hidden_act: 'gelu', tie_word_embeddings: false, use_image_newline_parameter: true, vision_feature_layer: -2, vision_feature_select_strategy: 'default',
    vision_config: { model_type: 'clip_vision_model', hidden_size: 1024, intermediate_size: 4096, num_hidden_layers: 24, num_attention_heads: 16, image_size: 336, patch_size: 14, projection_dim: 768 },
    text_config: { model_type: 'mistral', architectures: ['MistralForCausalLM'], vocab_size: 32064, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8, rope_theta: 1000000.0, sliding_window: null, max_position_embeddings: 32768, rms_norm_eps: 1e-5 },
  },
  preprocessor: {
    crop_size: { height: 336, width: 336 }, do_center_crop: true, do_convert_rgb: true, do_normalize: true, do_rescale: true, do_resize: true, image_grid_pinpoints: NEXT_PINPOINTS,
    image_mean: CLIP_MEAN, image_std: CLIP_STD, image_processor_type: 'LlavaNextImageProcessor', processor_class: 'LlavaNextProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { shortest_edge: 336 },
  },
  processor: { image_token: '<image>', num_additional_image_tokens: 1, patch_size: 14, processor_class: 'LlavaNextProcessor', vision_feature_select_strategy: 'default' },
};

const OV_PINPOINTS = Array.from({ length: 36 }, (_, i) => [384 * (Math.floor(i / 6) + 1), 384 * ((i % 6) + 1)]);
/** llava-hf/llava-onevision-qwen2-0.5b-ov-hf, likewise. */
export const ONEVISION_05B = {
  config: {
    architectures: ['LlavaOnevisionForConditionalGeneration'], model_type: 'llava_onevision', image_token_index: 151646, video_token_index: 151647, image_grid_pinpoints: OV_PINPOINTS,
    projector_hidden_act: 'gelu', tie_word_embeddings: true, vision_aspect_ratio: 'anyres_max_9', vision_feature_layer: -1, vision_feature_select_strategy: 'full', image_seq_length: 729,
    vision_config: { model_type: 'siglip_vision_model', hidden_size: 1152, intermediate_size: 4304, num_hidden_layers: 26, num_attention_heads: 16, image_size: 384, patch_size: 14, vision_use_head: false },
    text_config: { model_type: 'qwen2', vocab_size: 152000, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, rope_theta: 1000000.0, max_position_embeddings: 32768, tie_word_embeddings: true },
  },
  preprocessor: {
    do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true, image_grid_pinpoints: OV_PINPOINTS, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5],
    image_processor_type: 'LlavaOnevisionImageProcessor', processor_class: 'LlavaOnevisionProcessor', resample: 3, rescale_factor: 0.00392156862745098, size: { height: 384, width: 384 },
  },
  processor: { image_token: '<image>', num_image_tokens: 729, processor_class: 'LlavaOnevisionProcessor', video_token: '<video>', vision_feature_select_strategy: 'full' },
};

