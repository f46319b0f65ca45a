import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PromptError, buildPrompt, llavaImageSeqLength } from '../src/prompt/index.js';
import { TextTokenizer, buildWordLevelTokenizer } from '../src/tokenizer/index.js';

const SPECIALS = ['<unk>', '<s>', '</s>', '<image>'];
const WORDS = ['USER:', 'ASSISTANT:', 'what', 'is', 'this', '?', 'cat', 'dog'];
const ID = (t: string): number => [...SPECIALS, ...WORDS].indexOf(t);
const IMG = ID('<image>');
const tokenizer = new TextTokenizer({
  ...buildWordLevelTokenizer({ specialTokens: SPECIALS, words: WORDS, bosToken: '<s>', eosToken: '</s>', unkToken: '<unk>', addBosToken: true }),
  source: 'prompt test tokenizer',
});
const opts = (numImages: number, imageSeqLength = 4) => ({ tokenizer, imageTokenId: IMG, imageSeqLength, numImages });

describe('buildPrompt', () => {
  it('expands each <image> to imageSeqLength image ids and reports the positions per image', () => {
    const { ids, imagePositions } = buildPrompt('USER: <image>\nwhat is this ? ASSISTANT: cat USER: <image>\nwhat is this ? ASSISTANT:', opts(2, 3));
    const text = ['what', 'is', 'this', '?'].map(ID);
    expect(Array.from(ids)).toEqual([
      ID('<s>'), ID('USER:'), IMG, IMG, IMG, ...text, ID('ASSISTANT:'), ID('cat'),
      ID('USER:'), IMG, IMG, IMG, ...text, ID('ASSISTANT:'),
    ]);
    expect(imagePositions).toEqual([[2, 3, 4], [12, 13, 14]]);
  });

  it('accepts interleaved parts and adjacent images', () => {
    const { ids, imagePositions } = buildPrompt([{ type: 'image' }, { type: 'image' }, 'cat ', { type: 'text', text: 'is' }, { type: 'image' }], {
      ...opts(3, 2),
      addSpecialTokens: false,
    });
    expect(Array.from(ids)).toEqual([IMG, IMG, IMG, IMG, ID('cat'), ID('is'), IMG, IMG]);
    expect(imagePositions).toEqual([[0, 1], [2, 3], [6, 7]]);
  });

  it('gives the same ids as tokenizing the fully expanded text (LlavaProcessor)', () => {
    const piece = fc.constantFrom('<image>', ' <image> ', 'what ', 'is ', 'cat', ' dog ', '? ', '\n');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 10 }), fc.integer({ min: 1, max: 5 }), (pieces, n) => {
        const text = pieces.join('');
        const numImages = pieces.filter((p) => p.includes('<image>')).length;
        const built = buildPrompt(text, opts(numImages, n));
        const expanded = tokenizer.encode(text.split('<image>').join('<image>'.repeat(n)));
        expect(Array.from(built.ids)).toEqual(expanded);
        expect(built.imagePositions.flat()).toEqual(expanded.flatMap((id, i) => (id === IMG ? [i] : [])));
        built.imagePositions.forEach((run) => expect(run).toHaveLength(n));
      }),
      { numRuns: 10 },
    );
  });

  it('rejects a placeholder/image count mismatch', () => {
    expect(() => buildPrompt('USER: <image> <image> what', opts(1))).toThrow(
      "buildPrompt: the prompt has 2 '<image>' placeholder(s) but 1 image(s) were supplied; each image needs exactly one placeholder",
    );
    expect(() => buildPrompt('what is this ?', opts(1))).toThrow(PromptError);
    expect(() => buildPrompt([{ type: 'image' }], opts(0))).toThrow(/has 1 '<image>' placeholder\(s\) but 0 image/);
  });

  it('rejects an image token that the tokenizer does not map to imageTokenId', () => {
    expect(() => buildPrompt('<image> cat', { ...opts(1), imageTokenId: ID('cat') })).toThrow("buildPrompt: '<image>' encodes to [3], not to the single image token id 10 (config.json image_token_index)");
    expect(() => buildPrompt('<img> cat', { ...opts(1), imageToken: '<img>' })).toThrow(/'<img>' encodes to \[0\], not to the single image token id 3/);
    // The image id reached by other means than a placeholder (here: the unk id chosen as image id) is caught too.
    expect(() => buildPrompt('<image> zebra', { ...opts(1), imageToken: '<unk>', imageTokenId: ID('<unk>') })).toThrow(/has 0 '<unk>' placeholder/);
    expect(() => buildPrompt('<unk> zebra', { ...opts(1), imageToken: '<unk>', imageTokenId: ID('<unk>') })).toThrow(/produced 2 id\(s\) 0 for 1 '<unk>' placeholder/);
    expect(() => buildPrompt('cat', { ...opts(0), imageSeqLength: 0 })).toThrow(/imageSeqLength must be a positive integer/);
  });
});

describe('llavaImageSeqLength', () => {
  it('matches the checkpoints: llava-1.5 576, interleave 729', () => {
    expect(llavaImageSeqLength({ imageSize: 336, patchSize: 14, visionFeatureSelectStrategy: 'default', numAdditionalImageTokens: 1 })).toBe(576);
    expect(llavaImageSeqLength({ imageSize: 384, patchSize: 14, visionFeatureSelectStrategy: 'full', numAdditionalImageTokens: 0 })).toBe(729);
    expect(llavaImageSeqLength({ imageSize: { height: 28, width: 42 }, patchSize: 14, visionFeatureSelectStrategy: 'full', numAdditionalImageTokens: 1 })).toBe(7);
  });
});
