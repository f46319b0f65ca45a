// TextTokenizer: @huggingface/tokenizers plus the checks it leaves out (DESIGN.md section 9: for a
// WordLevel word outside the vocabulary it returns id `undefined`), special tokens from
// tokenizer_config.json, end-of-sequence ids and the chat template.
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ChatTemplate, findChatTemplate, templateFromConfig, type ChatMessage, type ChatTemplateSource } from './chat.js';
import { TokenizerError } from './errors.js';
import { isObject, parseJsonObject, readOptionalText, type JsonObject } from './files.js';
import { flattenSpecialTokens, specialTokenContent, type SpecialToken, type SpecialTokens } from './special.js';

export interface EncodeOptions {
  /** Run the post-processor (e.g. Llama's leading `<s>`). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop added tokens marked special (and tokenizer_config's additional_special_tokens). Default false. */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the template's assistant header so the model continues as the assistant. Default false. */
  addGenerationPrompt?: boolean;
}

/** The parsed contents of a model directory's tokenizer files. */
export interface TokenizerFiles {
  tokenizerJson: JsonObject;
  tokenizerConfig: JsonObject;
  chatTemplate?: ChatTemplateSource | null;
  /** generation_config.json, whose `eos_token_id` (a number or list) adds end ids. */
  generationConfig?: JsonObject | null;
  /** Named in every error: the directory, or a description for in-memory tokenizers. */
  source: string;
}

/**
 * End-of-turn markers that stop generation when present in the vocabulary, besides the configured eos:
 * ChatML (Qwen2, interleave), SmolVLM / Idefics3, Llama-3, Phi-3.
 */
export const END_OF_TURN_TOKENS: readonly string[] = ['<|im_end|>', '<end_of_utterance>', '<|eot_id|>', '<|end|>'];

export class TextTokenizer {
  readonly source: string;
  /** One past the largest id of the vocabulary, added tokens included. */
  readonly vocabSize: number;
  readonly specialTokens: SpecialTokens;
  /**
   * Token id that replaces words outside the vocabulary, or null when the tokenizer defines none (then
   * such a word is an error). Taken from tokenizer.json `model.unk_token`, else tokenizer_config `unk_token`,
   * and only if that token is in the vocabulary: the rule of the Rust `tokenizers` WordLevel/BPE models.
   */
  readonly unkTokenId: number | null;
  /** Ids that end generation: eos, generation_config's eos_token_id, and END_OF_TURN_TOKENS present. */
  readonly eosTokenIds: readonly number[];
  /** generation_config.json's `max_new_tokens` (the Hugging Face convention), or null when absent. */
  readonly generationMaxNewTokens: number | null;
  readonly chatTemplate: ChatTemplate | null;
  private readonly lib: Tokenizer;

  constructor(files: TokenizerFiles) {
    const { source } = files;
    this.source = source;
    const config = flattenSpecialTokens(files.tokenizerConfig, source);
    try {
      this.lib = new Tokenizer(files.tokenizerJson, config);
    } catch (e) {
      throw new TokenizerError(source, `tokenizer.json is not usable by @huggingface/tokenizers: ${(e as Error).message}`);
    }
    let maxId = -1;
    for (const id of this.lib.get_vocab(true).values()) maxId = Math.max(maxId, id);
    if (maxId < 0) throw new TokenizerError(source, 'tokenizer.json has an empty vocabulary');
    this.vocabSize = maxId + 1;

    const resolve = (key: string): SpecialToken | null => {
      const token = specialTokenContent(files.tokenizerConfig, key, source);
      if (token === null) return null;
      const id = this.lib.token_to_id(token);
      if (id === undefined) throw new TokenizerError(source, `tokenizer_config.json ${key} '${token}' is not in the vocabulary of tokenizer.json`);
      return { token, id };
    };
    this.specialTokens = { bos: resolve('bos_token'), eos: resolve('eos_token'), pad: resolve('pad_token'), unk: resolve('unk_token') };

    const model = files.tokenizerJson.model;
    const modelUnk = isObject(model) && typeof model.unk_token === 'string' ? this.lib.token_to_id(model.unk_token) : undefined;
    this.unkTokenId = modelUnk ?? this.specialTokens.unk?.id ?? null;

    const eos = new Set<number>();
    if (this.specialTokens.eos) eos.add(this.specialTokens.eos.id);
    const genEos = files.generationConfig?.eos_token_id;
    for (const id of Array.isArray(genEos) ? genEos : genEos === undefined || genEos === null ? [] : [genEos]) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= this.vocabSize) {
        throw new TokenizerError(source, `generation_config.json eos_token_id ${JSON.stringify(id)} is not a token id below ${this.vocabSize}`);
      }
      eos.add(id as number);
    }
    for (const t of END_OF_TURN_TOKENS) {
      const id = this.lib.token_to_id(t);
      if (id !== undefined) eos.add(id);
    }
    this.eosTokenIds = [...eos];
    const genMax = files.generationConfig?.max_new_tokens;
    if (genMax !== undefined && genMax !== null && (!Number.isInteger(genMax) || (genMax as number) < 1)) {
      throw new TokenizerError(source, `generation_config.json max_new_tokens ${JSON.stringify(genMax)} is not a positive integer`);
    }
    this.generationMaxNewTokens = genMax === undefined || genMax === null ? null : (genMax as number);

    const tpl = files.chatTemplate === undefined ? templateFromConfig(files.tokenizerConfig, `tokenizer_config.json of ${source}`) : files.chatTemplate;
    this.chatTemplate = tpl === null ? null : new ChatTemplate(tpl);
  }

  /**
   * Token ids of `text`. Every id is checked: a word the vocabulary lacks becomes `unkTokenId`, or, when the
   * tokenizer defines no unk token, throws a TokenizerError naming the word.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const { ids, tokens } = this.lib.encode(text, { add_special_tokens: options.addSpecialTokens ?? true });
    const out = new Array<number>(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number | undefined;
      if (id !== undefined && Number.isInteger(id) && id >= 0 && id < this.vocabSize) {
        out[i] = id;
      } else if (this.unkTokenId !== null) {
        out[i] = this.unkTokenId;
      } else {
        throw new TokenizerError(this.source, `word '${tokens[i]}' (token ${i} of ${JSON.stringify(truncate(text))}) is not in the vocabulary and the tokenizer defines no unk_token`);
      }
    }
    return out;
  }

  /** Text of `ids`; every id must be an integer in [0, vocabSize) that names a token. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list = Array.from(ids);
    list.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize || this.lib.id_to_token(id) === undefined) {
        throw new TokenizerError(this.source, `cannot decode id ${id} at index ${i}: not a token id (vocabulary size ${this.vocabSize})`);
      }
    });
    if (list.length === 0) return '';
    return this.lib.decode(list, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.lib.token_to_id(token);
  }

  /** Like tokenToId, but a token missing from the vocabulary is an error naming it. */
  requireTokenId(token: string): number {
    const id = this.lib.token_to_id(token);
    if (id === undefined) throw new TokenizerError(this.source, `token '${token}' is not in the vocabulary`);
    return id;
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.lib.id_to_token(id) : undefined;
  }

  /** Renders `messages` with the model's chat template (see findChatTemplate for where it comes from). */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (this.chatTemplate === null) {
      throw new TokenizerError(this.source, 'has no chat template (looked for chat_template.jinja, chat_template.json and tokenizer_config.json chat_template)');
    }
    const vars: Record<string, string> = {};
    for (const [name, t] of Object.entries(this.specialTokens)) if (t) vars[`${name}_token`] = t.token;
    return this.chatTemplate.render(messages, options.addGenerationPrompt ?? false, vars);
  }
}

const truncate = (s: string): string => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

/**
 * Loads the tokenizer of a Hugging Face model directory: tokenizer.json (required), tokenizer_config.json
 * (optional, treated as {} when absent), the chat template (see findChatTemplate) and generation_config.json
 * (optional, for eos ids).
 */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const tokText = await readOptionalText(dir, 'tokenizer.json');
  if (tokText === null) {
    throw new TokenizerError(dir, `tokenizer.json not found (${join(dir, 'tokenizer.json')}); only fast-tokenizer directories are supported`);
  }
  const tokenizerJson = parseJsonObject(tokText, dir, 'tokenizer.json');
  const cfgText = await readOptionalText(dir, 'tokenizer_config.json');
  const tokenizerConfig = cfgText === null ? {} : parseJsonObject(cfgText, dir, 'tokenizer_config.json');
  const genText = await readOptionalText(dir, 'generation_config.json');
  const generationConfig = genText === null ? null : parseJsonObject(genText, dir, 'generation_config.json');
  const chatTemplate = await findChatTemplate(dir, tokenizerConfig);
  return new TextTokenizer({ tokenizerJson, tokenizerConfig, chatTemplate, generationConfig, source: dir });
}
