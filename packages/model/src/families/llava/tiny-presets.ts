// Tiny LLaVA checkpoints in the two published layouts: llava-1.5 (CLIP + Llama) and
// llava-interleave (SigLIP + Qwen2). Same field names as the hub configs, tiny sizes.
import { parseLlavaConfig, type LlavaConfig } from './config.js';

export type TinyFamily = 'clip-llama' | 'siglip-qwen2';
export const TINY_FAMILIES: readonly TinyFamily[] = ['clip-llama', 'siglip-qwen2'];

/** Words of the tiny word-level vocabulary (split on whitespace only, so punctuation stays attached). */
export const TINY_WORDS: readonly string[] = [
  'USER:', 'ASSISTANT:', 'user', 'assistant', 'system', 'What', 'what', 'is', 'this?', 'this', 'the', 'a', 'an', 'of',
  'in', 'on', 'and', 'color', 'shape', 'animal', 'object', 'Answer:', 'Q:', 'A:', 'Question:', 'cat', 'dog', 'bird',
  'fish', 'horse', 'cow', 'red', 'green', 'blue', 'yellow', 'black', 'white', 'orange', 'purple', 'circle', 'square',
  'triangle', 'star', 'yes', 'no', 'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine',
  'ten', 'left', 'right', 'top', 'bottom', 'big', 'small', 'How', 'many', 'are', 'there?', 'Is', 'it', 'Which',
  'Describe', 'image.', 'image', 'picture', 'photo', 'flower', 'tree', 'car', 'house', 'apple', 'banana', '.', ',',
  '?', ':',
];

export interface TinySpecials {
  specialTokens: string[];
  bos: string | null;
  eos: string;
  pad: string;
  unk: string;
  image: string;
  addBos: boolean;
  chatTemplate: string;
}

// llava-1.5 style: "USER: <image>\n<text> ASSISTANT:" (images first, each text followed by a space).
const LLAVA15_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'] | upper }}{{ ': ' }}{% endif %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>\n' }}{% endif %}{% endfor %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ item['text'] + ' ' }}{% endif %}{% endfor %}" +
  "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";

// ChatML as llava-interleave renders it: "<|im_start|>role\n" + images + "\n"+text per text + "<|im_end|>\n".
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}" +
  "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ '\n' + item['text'] }}{% endif %}{% endfor %}" +
  "{{ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

export function tinySpecials(family: TinyFamily): TinySpecials {
  return family === 'clip-llama'
    ? { specialTokens: ['<unk>', '<s>', '</s>', '<image>', '<pad>'], bos: '<s>', eos: '</s>', pad: '<pad>', unk: '<unk>', image: '<image>', addBos: true, chatTemplate: LLAVA15_TEMPLATE }
    : { specialTokens: ['<unk>', '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<image>', '<pad>'], bos: null, eos: '<|im_end|>', pad: '<pad>', unk: '<unk>', image: '<image>', addBos: false, chatTemplate: CHATML_TEMPLATE };
}

/** Token ids of the tiny vocabulary: special tokens first, then TINY_WORDS. */
export function tinyVocab(family: TinyFamily): Map<string, number> {
  const tokens = [...tinySpecials(family).specialTokens, ...TINY_WORDS];
  return new Map(tokens.map((t, i) => [t, i]));
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711];

/** config.json of a tiny checkpoint, shaped like the llava-hf hub configs. */
export function tinyConfigJson(family: TinyFamily): Record<string, unknown> {
  const vocab = tinyVocab(family);
  const id = (t: string): number => vocab.get(t)!;
  const vocabSize = Math.ceil(vocab.size / 8) * 8; // padded like llava-1.5's 32064
  if (family === 'clip-llama') {
    return {
      architectures: ['LlavaForConditionalGeneration'],
      model_type: 'llava',
      ignore_index: -100,
      image_token_index: id('<image>'),
      pad_token_id: id('<pad>'),
      projector_hidden_act: 'gelu',
      vision_feature_layer: -2,
      vision_feature_select_strategy: 'default',
      tie_word_embeddings: false,
      torch_dtype: 'float32',
      vision_config: {
        model_type: 'clip_vision_model',
        hidden_size: 32,
        intermediate_size: 64,
        num_hidden_layers: 3,
        num_attention_heads: 4,
        image_size: 24,
        patch_size: 8,
        projection_dim: 32,
      },
      text_config: {
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        max_position_embeddings: 512,
        rms_norm_eps: 1e-5,
        vocab_size: vocabSize,
        bos_token_id: id('<s>'),
        eos_token_id: id('</s>'),
        pad_token_id: id('<pad>'),
        torch_dtype: 'float32',
      },
    };
  }
  return {
    architectures: ['LlavaForConditionalGeneration'],
    model_type: 'llava',
    ignore_index: -100,
    image_token_index: id('<image>'),
    projector_hidden_act: 'gelu',
    vision_feature_layer: -1,
    vision_feature_select_strategy: 'full',
    torch_dtype: 'float32',
    vision_config: {
      model_type: 'siglip_vision_model',
      hidden_act: 'gelu_pytorch_tanh',
      hidden_size: 32,
      intermediate_size: 64,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      image_size: 32,
      patch_size: 8,
      layer_norm_eps: 1e-6,
      vision_use_head: false,
    },
    text_config: {
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 3,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 512,
      rope_theta: 1000000.0,
      sliding_window: 512,
      use_sliding_window: false,
      tie_word_embeddings: true,
      vocab_size: vocabSize,
      bos_token_id: id('<|endoftext|>'),
      eos_token_id: id('<|im_end|>'),
      torch_dtype: 'float32',
    },
  };
}

/**
 * preprocessor_config.json for `config`'s tower (default: the family's preset config):
 * CLIPImageProcessor (shortest edge + center crop) or SiglipImageProcessor (plain resize), both to the
 * tower's image_size, so the processor's pixels are what the tower takes.
 */
export function tinyPreprocessorJson(family: TinyFamily, config: LlavaConfig = parseLlavaConfig(tinyConfigJson(family), 'tinyConfigJson')): Record<string, unknown> {
  const size = config.vision.imageSize;
  const common = { do_normalize: true, do_rescale: true, do_resize: true, processor_class: 'LlavaProcessor', resample: 3, rescale_factor: 0.00392156862745098 };
  return config.vision.modelType === 'clip_vision_model'
    ? { ...common, crop_size: { height: size, width: size }, do_center_crop: true, do_convert_rgb: true, image_mean: CLIP_MEAN, image_std: CLIP_STD, image_processor_type: 'CLIPImageProcessor', size: { shortest_edge: size } }
    : { ...common, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], image_processor_type: 'SiglipImageProcessor', size: { height: size, width: size } };
}

/**
 * processor_config.json of newer LlavaProcessor versions (VLM_FORMATS.md 1.6) for `config` (default: the
 * family's preset): patch_size, vision_feature_select_strategy and num_additional_image_tokens (CLIP's
 * class token) from the tower, so LlavaProcessor's token count equals config.imageSeqLength.
 */
export function tinyProcessorJson(family: TinyFamily, config: LlavaConfig = parseLlavaConfig(tinyConfigJson(family), 'tinyConfigJson')): Record<string, unknown> {
  return {
    image_token: tinySpecials(family).image,
    num_additional_image_tokens: config.vision.numPositions - config.vision.numPatches,
    patch_size: config.vision.patchSize,
    processor_class: 'LlavaProcessor',
    vision_feature_select_strategy: config.visionFeatureSelectStrategy,
  };
}
