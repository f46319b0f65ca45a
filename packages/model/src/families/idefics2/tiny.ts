// Writes a tiny random-weight Idefics2 checkpoint in the exact Hugging Face layout and naming
// (HuggingFaceM4/idefics2-8b shaped, a few KB): config.json, model.safetensors (on-disk names:
// model.vision_model.*, model.connector.*, model.text_model.*, lm_head.weight), a Mistral-style
// (metaspace, byte-fallback) BPE tokenizer.json + tokenizer_config.json with Idefics2's special tokens
// and chat template, preprocessor_config.json, processor_config.json and generation_config.json.
import { tinyTensors } from '../../tiny/weights.js';
import { encodeFloats, type TensorInput } from '../../safetensors/writer.js';
import { buildBpeTokenizer } from '../../tokenizer/bpe-build.js';
import { parseIdefics2Config, type Idefics2Config } from './config.js';
import { IDEFICS2_END_OF_UTTERANCE, IDEFICS2_FAKE_IMAGE_TOKEN, IDEFICS2_IMAGE_TOKEN } from './prompt.js';
import { idefics2DiskName, idefics2ExpectedTensors } from './weights.js';
import { TinyFiles, jsonText } from '../../tiny/files.js';

/**
 * Idefics2's chat template as published with idefics2-8b (the role capitalised, ':' directly before a
 * leading image, else ': '; '<end_of_utterance>\n' after every turn; 'Assistant:' as the generation prompt).
 */
export const IDEFICS2_CHAT_TEMPLATE =
  "{% for message in messages %}{{message['role'].capitalize()}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}" +
  "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
  '<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ \'Assistant:\' }}{% endif %}';

/** Added tokens of the tiny tokenizer, ids 0.. in this order (idefics2-8b: <unk> 0, <s> 1, </s> 2, the Idefics2 tokens 32000..32002). */
export const TINY_IDEFICS2_SPECIAL_TOKENS: readonly string[] = ['<unk>', '<s>', '</s>', IDEFICS2_FAKE_IMAGE_TOKEN, IDEFICS2_IMAGE_TOKEN, IDEFICS2_END_OF_UTTERANCE];

const TINY_CORPUS: readonly string[] = [
  'User: What is in the image?',
  'Assistant: A cat sitting on a mat.',
  'User: What color is the car?',
  'Assistant: The car is red.',
  'Describe the picture in one sentence.',
  'There are two dogs playing in the park.',
  'How many people are there? Answer: three',
];

export interface TinyIdefics2Options {
  seed?: number;
  /** preprocessor_config.json do_image_splitting (default false). */
  doImageSplitting?: boolean;
  /** Fields merged into config.json's sub-configs or top level (after the tiny values). */
  configOverrides?: {
    top?: Record<string, unknown>;
    vision?: Record<string, unknown>;
    perceiver?: Record<string, unknown>;
    text?: Record<string, unknown>;
  };
  /** preprocessor_config.json size (default {shortest_edge: 16, longest_edge: 32}, i.e. 2..4 patches a side). */
  size?: { shortest_edge: number; longest_edge: number };
}

export interface TinyIdefics2Checkpoint {
  dir: string;
  config: Idefics2Config;
  /** Every file written, relative to dir, sorted. */
  files: string[];
}



export async function writeTinyIdefics2(dir: string, opts: TinyIdefics2Options = {}): Promise<TinyIdefics2Checkpoint> {
  const { seed = 0, doImageSplitting = false } = opts;
  const tok = buildBpeTokenizer({
    style: 'metaspace',
    specialTokens: TINY_IDEFICS2_SPECIAL_TOKENS,
    corpus: TINY_CORPUS,
    numMerges: 60,
    bosToken: '<s>',
    eosToken: '</s>',
    unkToken: '<unk>',
    addBosToken: true,
    chatTemplate: IDEFICS2_CHAT_TEMPLATE,
    extraTokenizerConfig: { processor_class: 'Idefics2Processor' },
  });
  const vocab = (tok.tokenizerJson['model'] as { vocab: Record<string, number> }).vocab;
  const vocabSize = Math.max(...Object.values(vocab)) + 1;
  const id = (t: string): number => vocab[t]!;

  const o = opts.configOverrides ?? {};
  const configJson: Record<string, unknown> = {
    architectures: ['Idefics2ForConditionalGeneration'],
    model_type: 'idefics2',
    image_token_id: id(IDEFICS2_IMAGE_TOKEN),
    tie_word_embeddings: false,
    use_cache: true,
    torch_dtype: 'float32',
    vision_config: {
      model_type: 'idefics2_vision', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
      num_channels: 3, image_size: 32, patch_size: 8, hidden_act: 'gelu_pytorch_tanh', layer_norm_eps: 1e-6, ...o.vision,
    },
    // hidden_size equal to the text's: the perceiver keeps its own rms_norm_eps (1e-6 vs the text's 1e-5), as in idefics2-8b.
    perceiver_config: {
      model_type: 'idefics2_perceiver', hidden_size: 64, hidden_act: 'silu', rms_norm_eps: 1e-6, resampler_n_latents: 8,
      resampler_depth: 2, resampler_n_heads: 4, resampler_head_dim: 8, num_key_value_heads: 2, ...o.perceiver,
    },
    text_config: {
      model_type: 'mistral', vocab_size: vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, hidden_act: 'silu', max_position_embeddings: 32768, rms_norm_eps: 1e-5,
      rope_theta: 10000.0, sliding_window: 4096, bos_token_id: id('<s>'), eos_token_id: id('</s>'), pad_token_id: id('<unk>'),
      tie_word_embeddings: false, ...o.text,
    },
    ...o.top,
  };
  const config = parseIdefics2Config(configJson, 'writeTinyIdefics2 config.json');

  const out = await TinyFiles.create(dir);
  await out.text('config.json', jsonText(configJson));
  const tensors = new Map<string, TensorInput>();
  for (const t of tinyTensors(idefics2ExpectedTensors(config), seed)) tensors.set(idefics2DiskName(t.name), { dtype: 'F32', shape: t.shape, data: encodeFloats(t.values, 'F32') });
  await out.safetensors('model.safetensors', tensors);

  await out.text('tokenizer.json', jsonText(tok.tokenizerJson));
  await out.text('tokenizer_config.json', jsonText(tok.tokenizerConfig));
  await out.text('preprocessor_config.json', jsonText({
    image_processor_type: 'Idefics2ImageProcessor',
    processor_class: 'Idefics2Processor',
    do_convert_rgb: true,
    do_resize: true,
    size: opts.size ?? { shortest_edge: 16, longest_edge: 32 },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    do_pad: true,
    do_image_splitting: doImageSplitting,
  }));
  // idefics2-8b keeps its chat template in processor_config.json (and the tokenizer's in tokenizer_config.json).
  await out.text('processor_config.json', jsonText({ chat_template: IDEFICS2_CHAT_TEMPLATE, image_seq_len: config.imageSeqLen, processor_class: 'Idefics2Processor' }));
  await out.text('generation_config.json', jsonText({
    bos_token_id: id('<s>'),
    eos_token_id: [id('</s>'), id(IDEFICS2_END_OF_UTTERANCE)],
    pad_token_id: id('<unk>'),
  }));
  return { dir, config, files: out.files };
}
