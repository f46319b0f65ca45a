// Bench inputs: a generic-JSONL dataset of small solid-colour PNGs (a minimal PNG encoder: the bench
// must not depend on the toy package), with words every tiny checkpoint's vocabulary knows.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG of size x size filled with `rgb`. */
export function solidPng(size: number, rgb: readonly [number, number, number]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const raw = Buffer.alloc(size * (1 + 3 * size));
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) raw.set(rgb, y * (1 + 3 * size) + 1 + 3 * x);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

const COLOURS: Record<string, [number, number, number]> = { red: [220, 30, 30], green: [30, 200, 40], blue: [30, 40, 220], yellow: [230, 220, 30] };

/** n examples `what color ? Answer: <colour>`; returns the JSONL path. */
export async function writeBenchDataset(dir: string, n: number): Promise<string> {
  await mkdir(join(dir, 'images'), { recursive: true });
  const names = Object.keys(COLOURS);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const colour = names[i % names.length]!;
    const base = COLOURS[colour]!;
    const img = `images/${i}.png`;
    await writeFile(join(dir, img), solidPng(16, [base[0], (base[1] + i * 7) % 256, base[2]]));
    lines.push(JSON.stringify({ id: `b${i}`, image: img, question: 'what color ?', answer: colour }));
  }
  const file = join(dir, 'bench.jsonl');
  await writeFile(file, lines.join('\n') + '\n');
  return file;
}
