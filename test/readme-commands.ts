// Command lines quoted in the READMEs and BENCHMARKS.md (issue 11 item 9, issue 18 item 1): sh code
// blocks and inline `code` spans, continuation lines joined, trailing `# comments` dropped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './fleet-procs.js';

export const DOCS = ['README.md', 'BENCHMARKS.md', 'packages/kernels/README.md', 'packages/model/README.md', 'packages/mtv/README.md', 'packages/toy/README.md', 'packages/coordinator/README.md', 'apps/worker/README.md'];

export interface Quoted {
  readonly doc: string;
  readonly line: string;
}

const COMMAND = /^(npm|npx|node)\s/;

export function quotedCommands(docs: readonly string[] = DOCS): Quoted[] {
  const out: Quoted[] = [];
  const seen = new Set<string>();
  const add = (doc: string, raw: string): void => {
    const line = raw.replace(/\s+#.*$/, '').replace(/\s+/g, ' ').trim();
    if (!COMMAND.test(line) || seen.has(line)) return;
    seen.add(line);
    out.push({ doc, line });
  };
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    // fenced sh blocks
    for (const m of text.matchAll(/```(?:sh|bash|shell)?\n([\s\S]*?)```/g)) {
      const joined = m[1]!.replace(/\\\n\s*/g, ' ');
      for (const l of joined.split('\n')) add(doc, l);
    }
    // inline code spans outside fences
    const prose = text.replace(/```[\s\S]*?```/g, '');
    for (const m of prose.matchAll(/`([^`\n]+)`/g)) add(doc, m[1]!);
  }
  return out;
}

/** A line with a placeholder (MODEL_DIR, DIR, ..., FILE) or elided arguments is a template, not a command. */
export const isTemplate = (line: string): boolean => /\.\.\.|\b(MODEL_DIR|DIR|FILE|MODEL|FORMAT|N)\b|\[|<[a-z-]+>|\$\(|ws:\/\/host/.test(line);
