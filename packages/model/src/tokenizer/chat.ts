// Chat templates: found the way transformers finds them, rendered with @huggingface/jinja.
import { Template } from '@huggingface/jinja';
import { TokenizerError } from './errors.js';
import { isObject, parseJsonObject, readOptionalText, type JsonObject } from './files.js';

/** LLaVA-style content: a list of text and image parts (images carry no data; the processor supplies them). */
export type ChatContentPart = { type: 'text'; text: string } | { type: 'image' };

export interface ChatMessage {
  role: string;
  content: string | readonly ChatContentPart[];
}

export interface ChatTemplateSource {
  template: string;
  /** Where it came from, for error messages: e.g. `chat_template.json in /models/llava`. */
  origin: string;
}

/**
 * The chat template of a model directory, or null if it has none. Precedence (most specific first):
 * `chat_template.jinja`, then `chat_template.json` ({"chat_template": "..."}, what llava-hf repos ship for
 * their processors), then `tokenizer_config.json`'s `chat_template` (a string, or a list of
 * {name, template} from which "default" is taken), then `processor_config.json`'s `chat_template`
 * (where older processors saved it, e.g. idefics2-8b).
 */
export async function findChatTemplate(dir: string, tokenizerConfig: JsonObject): Promise<ChatTemplateSource | null> {
  const jinja = await readOptionalText(dir, 'chat_template.jinja');
  if (jinja !== null) return { template: jinja, origin: `chat_template.jinja in ${dir}` };
  const json = await readOptionalText(dir, 'chat_template.json');
  if (json !== null) {
    const obj = parseJsonObject(json, dir, 'chat_template.json');
    if (typeof obj.chat_template !== 'string') {
      throw new TokenizerError(dir, `chat_template.json has no string 'chat_template' field (keys: ${Object.keys(obj).join(', ') || 'none'})`);
    }
    return { template: obj.chat_template, origin: `chat_template.json in ${dir}` };
  }
  const fromTokenizer = templateFromConfig(tokenizerConfig, `tokenizer_config.json in ${dir}`);
  if (fromTokenizer) return fromTokenizer;
  const processor = await readOptionalText(dir, 'processor_config.json');
  return processor === null ? null : templateFromConfig(parseJsonObject(processor, dir, 'processor_config.json'), `processor_config.json in ${dir}`);
}

/** The `chat_template` entry of a tokenizer_config object, or null when absent. */
export function templateFromConfig(config: JsonObject, origin: string): ChatTemplateSource | null {
  const t = config.chat_template;
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return { template: t, origin };
  if (Array.isArray(t)) {
    const named = t.filter(isObject);
    const def = named.find((x) => x.name === 'default');
    if (def && typeof def.template === 'string') return { template: def.template, origin: `${origin} (template "default")` };
    throw new TokenizerError(origin, `chat_template is a list without a "default" entry (names: ${named.map((x) => String(x.name)).join(', ')})`);
  }
  throw new TokenizerError(origin, `chat_template must be a string or a list of {name, template}; got ${typeof t}`);
}

function checkMessages(messages: readonly ChatMessage[], origin: string): void {
  messages.forEach((m, i) => {
    if (typeof m.role !== 'string') throw new TokenizerError(origin, `messages[${i}].role must be a string`);
    if (typeof m.content === 'string') return;
    if (!Array.isArray(m.content)) throw new TokenizerError(origin, `messages[${i}].content must be a string or a list of parts`);
    m.content.forEach((p: ChatContentPart, j: number) => {
      if (p.type === 'image') return;
      if (p.type === 'text' && typeof p.text === 'string') return;
      throw new TokenizerError(origin, `messages[${i}].content[${j}] must be {type:'text', text} or {type:'image'}; got ${JSON.stringify(p)}`);
    });
  });
}

/** A parsed template, reusable across renders. */
export class ChatTemplate {
  private readonly compiled: Template;

  constructor(readonly source: ChatTemplateSource) {
    try {
      this.compiled = new Template(source.template);
    } catch (e) {
      throw new TokenizerError(source.origin, `chat template does not parse: ${(e as Error).message}`);
    }
  }

  /** Renders the conversation. `specialTokens` become template variables (bos_token, eos_token, ...). */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean, specialTokens: Record<string, string>): string {
    checkMessages(messages, this.source.origin);
    const origin = this.source.origin;
    try {
      return this.compiled.render({
        ...specialTokens,
        messages: messages.map((m) => ({ role: m.role, content: typeof m.content === 'string' ? m.content : m.content.map((p) => ({ ...p })) })),
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (e) {
      // Also what the template's own raise_exception('...') (a jinja global) ends up as.
      throw new TokenizerError(origin, `chat template failed to render: ${(e as Error).message}`);
    }
  }
}
