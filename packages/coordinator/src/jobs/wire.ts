// Dataset examples <-> the wire's self-contained examples and prompt templates.
//
// The coordinator turns @mtv/mtv examples (image paths on its disk) into WireExamples carrying the
// image bytes, plus one PromptFormat per dataset format; a worker renders prompts from those alone
// (renderWirePrompt), with no shared filesystem. The rendered text is exactly @mtv/mtv's buildPrompt
// text (tested per format), which is what makes a distributed run equal a single-process run.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import {
  IMAGE_TOKEN, OPTION_INSTRUCTION, VIZWIZ_PREAMBLE, buildPrompt, optionLetter,
  type DatasetFormat, type Example, type PromptOptions, type QaExample,
} from '@mtv/mtv';
import type { PromptFormat, WireExample, WireImage } from '../protocol/index.js';

export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

const TWO_WAY: ReadonlySet<DatasetFormat> = new Set(['flower', 'cub', 'dtd']);
export const isTwoWay = (f: DatasetFormat): boolean => TWO_WAY.has(f);

/**
 * The templates of a dataset format. Rendering: `instruction`, then [each shot with `shot`, the query
 * with `query`] joined by `separator`. In a template, `<image>` stands for all of the example's images
 * (one mark each), `{text}` and `{answer}` for its fields. 2-way items are pre-rendered per option
 * order (wireExample), so their template is `{text}` alone.
 */
export function wireFormat(format: DatasetFormat, opts: PromptOptions = {}): PromptFormat {
  switch (format) {
    case 'jsonl':
      return { id: 'jsonl', instruction: opts.instruction ?? '', shot: `${IMAGE_TOKEN}{text} Answer: {answer}`, query: `${IMAGE_TOKEN}{text} Answer:`, separator: '\n' };
    case 'vizwiz':
      return { id: 'vizwiz', instruction: VIZWIZ_PREAMBLE, shot: `${IMAGE_TOKEN}{text} Answer: {answer}`, query: `${IMAGE_TOKEN}{text} Answer:`, separator: '' };
    case 'okvqa':
      return { id: 'okvqa', instruction: '', shot: `${IMAGE_TOKEN}{text} Answer:{answer}`, query: `${IMAGE_TOKEN}{text} Answer:`, separator: '' };
    case 'flower':
    case 'cub':
    case 'dtd':
      return { id: format, instruction: '', shot: '{text} {answer}', query: '{text}', separator: '' };
    default:
      throw new WireError(`wireFormat: unknown dataset format ${JSON.stringify(format)}`);
  }
}

/** Reads image files as bytes, keeping the most recent ones (examples recur across rounds). */
export class ImageStore {
  readonly #cache = new Map<string, WireImage>();
  constructor(readonly capacity = 512) {}

  async get(path: string): Promise<WireImage> {
    const hit = this.#cache.get(path);
    if (hit) {
      this.#cache.delete(path);
      this.#cache.set(path, hit);
      return hit;
    }
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = Uint8Array.from(await readFile(path));
    } catch (e) {
      throw new WireError(`cannot read image ${path}: ${(e as Error).message}`);
    }
    if (bytes.length === 0) throw new WireError(`image ${path} is empty`);
    const img: WireImage = { mime: mimeOf(path), bytes };
    if (this.#cache.size >= this.capacity) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(path, img);
    return img;
  }
}

const MIME: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif', '.bmp': 'image/bmp' };
export const mimeOf = (path: string): string => MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';

/** The answer text as the generic format writes it: the option letter for multiple choice. */
function letterAnswer(e: QaExample): string {
  if (!e.options) return e.answer;
  const i = e.options.indexOf(e.answer);
  return i >= 0 ? optionLetter(i) : e.answer;
}

/** Text field of a question-answer example under a format (the generic format folds the options in). */
function qaText(format: DatasetFormat, e: QaExample): string {
  if (format !== 'jsonl' || !e.options) return e.question;
  return `${e.question} ${e.options.map((o, i) => `${optionLetter(i)}.${o}`).join(' ')}\n${OPTION_INSTRUCTION}`;
}

/** Key under which an example travels: 2-way items differ per option order (variant bit 0). */
export const wireKey = (format: DatasetFormat, e: Example, variant: number): string => (isTwoWay(format) ? `${e.id}#${variant & 1}` : e.id);

/**
 * One example as it travels. `variant` only matters for 2-way items (their option order); the result
 * renders with `wireFormat(format)` to exactly buildPrompt's text.
 */
export async function wireExample(format: DatasetFormat, e: Example, variant: number, store: ImageStore, opts: PromptOptions = {}): Promise<WireExample> {
  if (isTwoWay(format)) {
    const p = buildPrompt(format, { shots: [], query: e, variant }, opts);
    return { id: wireKey(format, e, variant), images: await Promise.all(p.images.map((f) => store.get(f))), text: p.text, answer: p.answer };
  }
  if (e.kind !== 'qa') throw new WireError(`format '${format}' needs question-answer examples, got a ${e.kind} example (id ${e.id})`);
  if ((format === 'vizwiz' || format === 'okvqa') && e.images.length !== 1) {
    throw new WireError(`format '${format}': example ${e.id} has ${e.images.length} images, the format takes one`);
  }
  if (e.question.includes(IMAGE_TOKEN)) throw new WireError(`example ${e.id}: its question contains '${IMAGE_TOKEN}'`);
  return { id: e.id, images: await Promise.all(e.images.map((f) => store.get(f))), text: qaText(format, e), answer: letterAnswer(e) };
}

/** Collects the distinct examples of a shard in first-use order and hands out their indices. */
export class ExampleTable {
  readonly examples: WireExample[] = [];
  readonly #index = new Map<string, number>();
  constructor(private readonly format: DatasetFormat, private readonly store: ImageStore, private readonly opts: PromptOptions = {}) {}

  async add(e: Example, variant: number): Promise<number> {
    const key = wireKey(this.format, e, variant);
    const known = this.#index.get(key);
    if (known !== undefined) return known;
    const i = this.examples.length;
    this.#index.set(key, i);
    this.examples.push(await wireExample(this.format, e, variant, this.store, this.opts));
    return i;
  }
}

export interface RenderedPrompt {
  readonly text: string;
  /** One per `<image>` mark of `text`, in order. */
  readonly images: readonly WireImage[];
  /** What follows the query when it is written as a shot: the answer with its leading space, if any. */
  readonly continuation: string;
}

function fill(template: string, e: WireExample): string {
  return template.replace(/<image>|\{text\}|\{answer\}/g, (m) => (m === IMAGE_TOKEN ? IMAGE_TOKEN.repeat(e.images.length) : m === '{text}' ? e.text : e.answer));
}

/** The prompt of `shots` then `query` under `format` (the worker's side of wireFormat). */
export function renderWirePrompt(format: PromptFormat, shots: readonly WireExample[], query: WireExample): RenderedPrompt {
  const q = fill(format.query, query);
  const asShot = fill(format.shot, query);
  if (!asShot.startsWith(q)) {
    throw new WireError(`prompt format '${format.id}': the query template must be a prefix of the shot template (query ${JSON.stringify(format.query)}, shot ${JSON.stringify(format.shot)})`);
  }
  const text = format.instruction + [...shots.map((s) => fill(format.shot, s)), q].join(format.separator);
  const images = [...shots, query].flatMap((e) => e.images);
  const marks = text.split(IMAGE_TOKEN).length - 1;
  if (marks !== images.length) {
    throw new WireError(`prompt format '${format.id}' (query ${query.id}, ${shots.length} shots): ${marks} ${IMAGE_TOKEN} marks but ${images.length} images`);
  }
  return { text, images, continuation: asShot.slice(q.length) };
}
