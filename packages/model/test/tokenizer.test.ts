import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TextTokenizer, TokenizerError, buildWordLevelTokenizer, loadTokenizer, writeWordLevelTokenizer, type WordLevelSpec } from '../src/tokenizer/index.js';
import { useTempDir } from './temp-dir.js';

const WORDS = ['a', 'cat', 'dog', 'is', 'this', 'what', 'animal', '?', 'the', 'photo', 'shows', 'bird', 'user', 'assistant'];
const SPECIALS = ['<unk>', '<s>', '</s>', '<pad>', '<image>', '<|im_start|>', '<|im_end|>'];
const base: WordLevelSpec = { specialTokens: SPECIALS, words: WORDS, bosToken: '<s>', eosToken: '</s>', padToken: '<pad>', unkToken: '<unk>' };
const make = (spec: Partial<WordLevelSpec> = {}): TextTokenizer => {
  const files = buildWordLevelTokenizer({ ...base, ...spec });
  return new TextTokenizer({ ...files, source: 'test tokenizer' });
};
const id = (t: string): number => [...SPECIALS, ...WORDS].indexOf(t);

let dir: string;
useTempDir('mtv-tok-', (d) => (dir = d));

describe('WordLevel tokenizer', () => {
  it('encodes words and special tokens to their ids', () => {
    const tok = make();
    expect(tok.encode('what animal is this ?', { addSpecialTokens: false })).toEqual(['what', 'animal', 'is', 'this', '?'].map(id));
    // Added tokens are matched before whitespace splitting, so they need no spaces around them.
    expect(tok.encode('<image>this<|im_end|>', { addSpecialTokens: false })).toEqual([id('<image>'), id('this'), id('<|im_end|>')]);
    expect(tok.vocabSize).toBe(SPECIALS.length + WORDS.length);
  });

  it('round-trips random word sequences (decode(encode(t)) === t)', () => {
    const tok = make();
    const vocabWords = [...WORDS, '<image>', '<|im_start|>'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...vocabWords), { minLength: 1, maxLength: 12 }), (words) => {
        const text = words.join(' ');
        const ids = tok.encode(text, { addSpecialTokens: false });
        expect(ids).toEqual(words.map(id));
        expect(tok.decode(ids)).toBe(text);
      }),
      { numRuns: 10 },
    );
  });

  it('adds bos only when the post-processor asks for it and addSpecialTokens is on', () => {
    const tok = make({ addBosToken: true });
    expect(tok.encode('a cat')).toEqual([id('<s>'), id('a'), id('cat')]);
    expect(tok.encode('a cat', { addSpecialTokens: false })).toEqual([id('a'), id('cat')]);
    expect(make().encode('a cat')).toEqual([id('a'), id('cat')]);
  });

  it('skips special tokens on decode when asked', () => {
    const tok = make();
    const ids = [id('<s>'), id('<image>'), id('a'), id('cat'), id('</s>')];
    expect(tok.decode(ids)).toBe('<s> <image> a cat </s>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('a cat');
    expect(tok.decode([])).toBe('');
  });

  it('rejects ids that name no token', () => {
    const tok = make();
    expect(() => tok.decode([id('a'), 999])).toThrow(/cannot decode id 999 at index 1/);
    expect(() => tok.decode([1.5])).toThrow(TokenizerError);
    expect(() => tok.decode([-1])).toThrow(/id -1/);
  });

  it('maps out-of-vocabulary words to the unk id when unk_token is defined', () => {
    const tok = make();
    expect(tok.unkTokenId).toBe(id('<unk>'));
    expect(tok.encode('a zebra is', { addSpecialTokens: false })).toEqual([id('a'), id('<unk>'), id('is')]);
  });

  it('uses the WordLevel model unk_token even when tokenizer_config has none', () => {
    const files = buildWordLevelTokenizer(base);
    delete files.tokenizerConfig.unk_token;
    const tok = new TextTokenizer({ ...files, source: 'no-config-unk' });
    expect(tok.specialTokens.unk).toBeNull();
    expect(tok.encode('zebra', { addSpecialTokens: false })).toEqual([id('<unk>')]);
  });

  it('throws naming the word when there is no unk token', () => {
    const tok = make({ unkToken: null });
    expect(tok.unkTokenId).toBeNull();
    expect(() => tok.encode('a zebra', { addSpecialTokens: false })).toThrow(/test tokenizer: word 'zebra' .*not in the vocabulary/);
  });

  it('reads special tokens given as strings or as AddedToken objects', () => {
    for (const addedTokenObjects of [false, true]) {
      const tok = make({ addedTokenObjects, addBosToken: true });
      expect(tok.specialTokens).toEqual({
        bos: { token: '<s>', id: id('<s>') },
        eos: { token: '</s>', id: id('</s>') },
        pad: { token: '<pad>', id: id('<pad>') },
        unk: { token: '<unk>', id: id('<unk>') },
      });
      expect(tok.encode('a')).toEqual([id('<s>'), id('a')]);
    }
  });

  it('rejects a special token missing from the vocabulary', () => {
    const files = buildWordLevelTokenizer(base);
    files.tokenizerConfig.eos_token = '<eos>';
    expect(() => new TextTokenizer({ ...files, source: 'bad-eos' })).toThrow(/bad-eos: tokenizer_config.json eos_token '<eos>' is not in the vocabulary/);
  });

  it('collects eos ids from the config, generation_config and end-of-turn tokens', () => {
    const files = buildWordLevelTokenizer(base);
    const tok = new TextTokenizer({ ...files, generationConfig: { eos_token_id: [id('</s>'), id('<pad>')] }, source: 't' });
    expect([...tok.eosTokenIds].sort((a, b) => a - b)).toEqual([id('</s>'), id('<pad>'), id('<|im_end|>')].sort((a, b) => a - b));
    expect(() => new TextTokenizer({ ...files, generationConfig: { eos_token_id: 5000 }, source: 't' })).toThrow(/eos_token_id 5000/);
  });

  it('tokenToId / idToToken / requireTokenId', () => {
    const tok = make();
    expect(tok.tokenToId('<image>')).toBe(id('<image>'));
    expect(tok.tokenToId('zebra')).toBeUndefined();
    expect(tok.idToToken(id('cat'))).toBe('cat');
    expect(tok.idToToken(10_000)).toBeUndefined();
    expect(() => tok.requireTokenId('zebra')).toThrow(/token 'zebra' is not in the vocabulary/);
  });
});

// Templates written for these tests from the descriptions in VLM_FORMATS.md 5.2 (not the Hub files).
const LLAVA_TEMPLATE =
  "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>\\n' }}{% endif %}{% endfor %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'text' %}{% generation %}{{ item['text'] + ' ' }}{% endgeneration %}{% endif %}{% endfor %}" +
  "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}";
const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}" +
  "{% if message['content'] is string %}{{ message['content'] }}{% else %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}" +
  "{% for item in message['content'] %}{% if item['type'] == 'text' %}{{ '\\n' + item['text'] }}{% endif %}{% endfor %}{% endif %}" +
  "{{ '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const fewShot = [
  { role: 'user', content: [{ type: 'image' as const }, { type: 'text' as const, text: 'what animal is this ?' }] },
  { role: 'assistant', content: [{ type: 'text' as const, text: 'cat' }] },
  { role: 'user', content: [{ type: 'image' as const }, { type: 'text' as const, text: 'what animal is this ?' }] },
];

describe('chat templates', () => {
  it('renders LLaVA-1.5 style with images and a generation prompt ({% generation %} tags dropped)', () => {
    const tok = make({ chatTemplate: LLAVA_TEMPLATE });
    expect(tok.applyChatTemplate(fewShot, { addGenerationPrompt: true })).toBe(
      'USER: <image>\nwhat animal is this ? ASSISTANT: cat USER: <image>\nwhat animal is this ? ASSISTANT:',
    );
    expect(tok.applyChatTemplate(fewShot.slice(0, 1))).toBe('USER: <image>\nwhat animal is this ? ');
  });

  it('renders ChatML style (string and list content) and the result tokenizes', () => {
    const tok = make({ chatTemplate: CHATML_TEMPLATE });
    const text = tok.applyChatTemplate([...fewShot, { role: 'assistant', content: 'dog' }], { addGenerationPrompt: true });
    expect(text).toBe(
      '<|im_start|>user\n<image>\nwhat animal is this ?<|im_end|>\n<|im_start|>assistant\n\ncat<|im_end|>\n' +
        '<|im_start|>user\n<image>\nwhat animal is this ?<|im_end|>\n<|im_start|>assistant\ndog<|im_end|>\n<|im_start|>assistant\n',
    );
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids.filter((i) => i === id('<image>'))).toHaveLength(2);
    expect(ids).not.toContain(id('<unk>'));
  });

  it('exposes special tokens to the template and surfaces raise_exception', () => {
    const tok = make({ chatTemplate: "{{ bos_token }}{% if messages|length == 0 %}{{ raise_exception('need a message') }}{% endif %}{{ messages[0]['content'] }}{{ eos_token }}" });
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }])).toBe('<s>hi</s>');
    expect(() => tok.applyChatTemplate([])).toThrow(/chat template failed to render: need a message/);
  });

  it('rejects malformed messages and a missing template with clear errors', () => {
    const tok = make({ chatTemplate: CHATML_TEMPLATE });
    const bad = [{ role: 'user', content: [{ type: 'video' }] }] as unknown as Parameters<TextTokenizer['applyChatTemplate']>[0];
    expect(() => tok.applyChatTemplate(bad)).toThrow(/messages\[0\]\.content\[0\] must be/);
    expect(() => make().applyChatTemplate(fewShot)).toThrow(/has no chat template/);
    expect(() => make({ chatTemplate: '{% for %}' })).toThrow(/chat template does not parse/);
  });
});

describe('loadTokenizer', () => {
  it('loads a directory and prefers chat_template.json over tokenizer_config', async () => {
    const d = join(dir, 'llava');
    await writeWordLevelTokenizer(d, { ...base, chatTemplate: 'from-config', addBosToken: true, addedTokenObjects: true });
    await writeFile(join(d, 'chat_template.json'), JSON.stringify({ chat_template: LLAVA_TEMPLATE }));
    await writeFile(join(d, 'generation_config.json'), JSON.stringify({ eos_token_id: id('</s>') }));
    const tok = await loadTokenizer(d);
    expect(tok.source).toBe(d);
    expect(tok.chatTemplate?.source.origin).toBe(`chat_template.json in ${d}`);
    expect(tok.applyChatTemplate(fewShot.slice(0, 1), { addGenerationPrompt: true })).toBe('USER: <image>\nwhat animal is this ? ASSISTANT:');
    expect(tok.encode('a cat')).toEqual([id('<s>'), id('a'), id('cat')]);
  });

  it('prefers chat_template.jinja over everything else', async () => {
    const d = join(dir, 'jinja');
    await writeWordLevelTokenizer(d, { ...base, chatTemplate: 'from-config' });
    await writeFile(join(d, 'chat_template.json'), JSON.stringify({ chat_template: 'from-json' }));
    await writeFile(join(d, 'chat_template.jinja'), 'from-jinja');
    expect((await loadTokenizer(d)).applyChatTemplate([])).toBe('from-jinja');
  });

  it('names the directory and file when tokenizer.json is missing or broken', async () => {
    const d = join(dir, 'empty');
    await writeWordLevelTokenizer(d, base);
    await rm(join(d, 'tokenizer.json'));
    await expect(loadTokenizer(d)).rejects.toThrow(`tokenizer ${d}: tokenizer.json not found (${join(d, 'tokenizer.json')})`);
    await writeFile(join(d, 'tokenizer.json'), '{"model": ');
    await expect(loadTokenizer(d)).rejects.toThrow(new RegExp(`${d}: tokenizer.json is not valid JSON`));
    await expect(loadTokenizer(join(dir, 'no-such-dir'))).rejects.toThrow(/no-such-dir: tokenizer.json not found/);
  });

  it('treats a missing tokenizer_config.json as empty', async () => {
    const d = join(dir, 'noconfig');
    await writeWordLevelTokenizer(d, base);
    await rm(join(d, 'tokenizer_config.json'));
    const tok = await loadTokenizer(d);
    expect(tok.specialTokens.eos).toBeNull();
    expect(tok.encode('zebra cat', { addSpecialTokens: false })).toEqual([id('<unk>'), id('cat')]);
  });
});
