// `mtv inspect`: an artifact's provenance and its chosen heads as a layer x head grid.
import type { Command } from 'commander';
import { readArtifact } from '../../artifact/io.js';
import { checkOutputs, writeFileAtomic } from '../../io/output-path.js';
import { headMaps, heatmapSvg, htmlReport, svgToPng } from '../../report/index.js';
import { writeJson, writeLine, type CliIo } from '../io.js';
import { addCommon, type CommonFlags } from '../options.js';
import { withModel } from './build.js';

/** Rows = layers, columns = heads; '#' chosen, '.' not. */
export function headsGrid(mask: Uint8Array, layers: number, heads: number): string {
  const width = String(layers - 1).length;
  const cols = Array.from({ length: heads }, (_, h) => String(h % 10)).join('');
  const lines = [`${' '.repeat(width + 7)}${cols}   (head mod 10)`];
  for (let l = 0; l < layers; l++) {
    let row = '';
    for (let h = 0; h < heads; h++) row += mask[l * heads + h] ? '#' : '.';
    const n = mask.subarray(l * heads, (l + 1) * heads).reduce((a, b) => a + b, 0);
    lines.push(`layer ${String(l).padStart(width)} ${row}   ${n}`);
  }
  return lines.join('\n');
}

export function registerInspect(program: Command, io: CliIo): void {
  addCommon(program.command('inspect').description('print an artifact: provenance and the chosen heads'))
    .argument('<artifact>', 'MTV artifact (.safetensors)')
    .option('-m, --model <dir>', 'also check the artifact against this model (hash and head shape)')
    .option('--html <file>', 'also write a self-contained HTML report: heatmaps of the chosen heads, probabilities and per-head mean norms, provenance')
    .option('--png <file>', 'also write the heatmaps as a PNG (for papers and READMEs)')
    .action(async (file: string, f: CommonFlags & { model?: string; html?: string; png?: string }) => {
      // Reports never overwrite their input, and are proven writable before anything is computed.
      await checkOutputs([{ flag: '--html', path: f.html }, { flag: '--png', path: f.png }], [{ flag: 'the artifact', path: file }]);
      const a = f.model
        ? await withModel(io, { model: f.model }, async (m) => readArtifact(file, { modelHash: await m.hash(), shape: m.headShape }))
        : await readArtifact(file);
      if (f.html) await writeFileAtomic(f.html, htmlReport(file, a));
      if (f.png) await writeFileAtomic(f.png, svgToPng(heatmapSvg(headMaps(a), { title: `${a.provenance.modelId}: ${a.sums.count} rounds` })));
      for (const [flag, out] of [['--html', f.html], ['--png', f.png]] as const) if (out) writeLine(io.stderr, `mtv inspect: wrote ${flag} ${out}`);
      const [L, H, D] = a.sums.shape;
      const probs = a.logits ? Array.from(a.logits, (x) => 1 / (1 + Math.exp(-x))) : null;
      if (f.json) {
        const grid = a.heads ? Array.from({ length: L }, (_, l) => Array.from(a.heads!.subarray(l * H, (l + 1) * H))) : null;
        const loc = a.locator ?? null;
        const locator = loc ? { kind: loc.kind, locations: Array.from(loc.locations), ...(loc.bank ? { clusters: loc.bank.clusters, choice: Array.from(loc.bank.choice) } : {}) } : { kind: a.heads ? 'reinforce' : null };
        writeJson(io, { file, shape: [L, H, D], count: a.sums.count, provenance: a.provenance, heads: grid, probabilities: probs, locator });
        return;
      }
      const p = a.provenance;
      writeLine(io.stdout, `${file}: MTV artifact, heads [${L} layers, ${H} heads, ${D} dims], ${a.sums.count} rounds`);
      writeLine(io.stdout, `model ${p.modelId} (${p.modelHash.slice(0, 16)}...), written by @mtv/mtv ${p.codeVersion}`);
      for (const r of p.runs) {
        writeLine(io.stdout, `run: seed ${r.seed}, rounds [${r.firstRound}, ${r.firstRound + r.rounds}), ${r.shots} shots, shard size ${r.shardSize}, dataset ${r.datasetHash.slice(0, 16)}...`);
      }
      if (p.notes) writeLine(io.stdout, `notes: ${Object.entries(p.notes).map(([k, v]) => `${k}=${v}`).join(' ')}`);
      if (!a.heads) {
        writeLine(io.stdout, 'heads: none (run mtv locate)');
        return;
      }
      writeLine(io.stdout, `heads (${p.heads}, locator ${a.locator?.kind ?? 'reinforce'}): ${a.heads.reduce((s, v) => s + v, 0)} of ${L * H}`);
      const bank = a.locator?.bank;
      if (bank) {
        const at = Array.from(a.locator!.locations, (loc, k) => `L${Math.floor(loc / H)}H${loc % H}->c${bank.choice[k]}`);
        writeLine(io.stdout, `stv bank: ${bank.clusters} centres per location; chosen: ${at.join(' ')}`);
      }
      writeLine(io.stdout, headsGrid(a.heads, L, H));
    });
}
