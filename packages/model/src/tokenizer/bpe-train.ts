// A small deterministic BPE trainer: the pre-tokenization of the two published styles (so the merges fit
// what the encoder will see) and the merge loop. Used by bpe-build.ts to make tiny test tokenizers.

/** The 256 printable symbols GPT-2 byte-level BPE maps bytes to (bytes_to_unicode), indexed by byte. */
export const BYTE_LEVEL_SYMBOLS: readonly string[] = (() => {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(printable.includes(b) ? b : next++);
  return out;
})();

/** The GPT-2 split regex that ByteLevel(use_regex: true) applies. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The metaspace word-boundary marker (U+2581). */
export const METASPACE = '\u2581';

/** Text split at every occurrence of the special tokens (leftmost, longest first); specials are dropped. */
export function splitOutSpecials(text: string, specials: readonly string[]): string[] {
  const sorted = [...specials].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const out: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const hit = sorted.find((s) => text.startsWith(s, i));
    if (hit === undefined) {
      i++;
      continue;
    }
    if (i > start) out.push(text.slice(start, i));
    i += hit.length;
    start = i;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/**
 * SmolLM2's pre-tokenization: Digits(individual_digits) then ByteLevel (GPT-2 regex, each piece's UTF-8
 * bytes mapped to BYTE_LEVEL_SYMBOLS). Digits are ASCII 0-9, as @huggingface/tokenizers implements it.
 */
export function byteLevelWords(segment: string): string[] {
  const utf8 = new TextEncoder();
  const words: string[] = [];
  for (const run of segment.match(/[^0-9]+|[0-9]/gu) ?? []) {
    for (const piece of run.match(GPT2_SPLIT) ?? []) {
      words.push(Array.from(utf8.encode(piece), (b) => BYTE_LEVEL_SYMBOLS[b]).join(''));
    }
  }
  return words;
}

/** The legacy Llama/Mistral normalizer: Prepend('▁') (on non-empty text) then Replace(' ', '▁'). */
export function metaspaceNormalize(segment: string): string {
  return segment.length === 0 ? '' : METASPACE + segment.replaceAll(' ', METASPACE);
}

/**
 * Training words of a normalized metaspace segment: each starts at a '▁', as sentencepiece learns pieces
 * within words. Control characters (newline, tab) are left out: like Llama's they have no character
 * token and are encoded through byte fallback (<0x0A>).
 */
export function metaspaceWords(normalized: string): string[] {
  return normalized.match(/▁[^▁\p{Cc}]*|[^▁\p{Cc}]+/gu) ?? [];
}

/** True for characters that get no character token in the metaspace style (byte fallback instead). */
export const isByteFallbackOnly = (ch: string): boolean => /\p{Cc}/u.test(ch);

export type Merge = readonly [left: string, right: string];

const pairKey = (l: string, r: string): string => JSON.stringify([l, r]);

/**
 * Learns up to `numMerges` merges from word counts (each word a string whose code points are the initial
 * symbols). Each step merges the most frequent adjacent pair; ties go to the pair whose left, then right,
 * symbol sorts first (JavaScript string order). A pair whose merged symbol is in `reserved` (special
 * tokens, byte tokens) is never merged. Stops early when no pair is left.
 */
export function learnMerges(wordCounts: ReadonlyMap<string, number>, numMerges: number, reserved: ReadonlySet<string>): Merge[] {
  const words = [...wordCounts].map(([w, count]) => ({ symbols: Array.from(w), count }));
  const pairCounts = new Map<string, { left: string; right: string; count: number }>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1): void => {
    const { symbols, count } = words[wi];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      const entry = pairCounts.get(key) ?? { left: symbols[i], right: symbols[i + 1], count: 0 };
      entry.count += sign * count;
      pairCounts.set(key, entry);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  words.forEach((_, wi) => addPairs(wi, 1));

  const merges: Merge[] = [];
  while (merges.length < numMerges) {
    let best: { key: string; left: string; right: string; count: number } | null = null;
    for (const [key, p] of pairCounts) {
      if (p.count <= 0 || reserved.has(p.left + p.right)) continue;
      if (best === null || p.count > best.count || (p.count === best.count && (p.left < best.left || (p.left === best.left && p.right < best.right)))) {
        best = { key, ...p };
      }
    }
    if (best === null) break;
    merges.push([best.left, best.right]);
    const merged = best.left + best.right;
    for (const wi of pairWords.get(best.key) ?? []) {
      const { symbols } = words[wi];
      addPairs(wi, -1);
      const next: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === best.left && symbols[i + 1] === best.right) {
          next.push(merged);
          i++;
        } else {
          next.push(symbols[i]);
        }
      }
      words[wi].symbols = next;
      addPairs(wi, 1);
    }
    pairCounts.delete(best.key);
    pairWords.delete(best.key);
  }
  return merges;
}
