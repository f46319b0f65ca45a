// The files of a tiny checkpoint directory: JSON as Hugging Face writes it (2-space indent, final
// newline) and safetensors, with the list of what was written, for every family's tiny writer.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors, type TensorInput } from '../safetensors/writer.js';

export const jsonText = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

export class TinyFiles {
  private readonly written: string[] = [];

  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<TinyFiles> {
    await mkdir(dir, { recursive: true });
    return new TinyFiles(dir);
  }

  /** `name` may be in a sub-folder (created). */
  async json(name: string, value: unknown): Promise<void> {
    await this.text(name, jsonText(value));
  }

  async text(name: string, content: string): Promise<void> {
    await mkdir(join(this.dir, name, '..'), { recursive: true });
    await writeFile(join(this.dir, name), content);
    this.written.push(name);
  }

  async safetensors(name: string, tensors: ReadonlyMap<string, TensorInput>, metadata: Record<string, string> = { format: 'pt' }): Promise<void> {
    await mkdir(join(this.dir, name, '..'), { recursive: true });
    await writeSafetensors(join(this.dir, name), tensors, metadata);
    this.written.push(name);
  }

  /** Every file written, relative to dir, sorted. */
  get files(): string[] {
    return [...this.written].sort();
  }
}
