// VILA's projector in float64 against an independent torch float64 implementation written from
// VILA1.5's llava/model/multimodal_projector/base_projector.py (DownSampleBlock with its zero padding of
// odd grids, nn.LayerNorm, nn.Linear, nn.GELU; mlp<N>x_gelu; linear), on odd and even token grids; and
// the GPU's gather rows (downsampleGatherRows) against the float64 DownSampleBlock.
// Needs python3 with torch (python3-torch); the torch comparisons are skipped without it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import {
  downsampleGatherRows, parseVilaConfig, referenceDownSample, referenceVilaProjector, vilaProjectorTensors, type VilaConfig,
} from '../src/families/vila/index.js';
import type { ReferenceTensors } from '../src/families/types.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('vila-projector-', (d) => (tmp = d));

const MODULES = ['torch'];
const PY = findPython(MODULES);
if (!PY) console.warn(`vila-projector.test.ts: torch oracle SKIPPED: ${skipReason(MODULES)}`);

/** A VILA config whose tower gives a `grid` x `grid` token grid (vision hidden 6, text hidden 12). */
function config(grid: number, projector: string): VilaConfig {
  return parseVilaConfig({
    model_type: 'llava_llama', architectures: ['LlavaLlamaModel'], image_aspect_ratio: 'resize',
    mm_vision_select_feature: 'cls_patch', mm_vision_select_layer: -2,
    llm_cfg: { model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 12, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 50 },
    vision_tower_cfg: { model_type: 'siglip_vision_model', architectures: ['SiglipVisionModel'], hidden_size: 6, intermediate_size: 8, num_hidden_layers: 2, num_attention_heads: 2, image_size: 4 * grid, patch_size: 4 },
    mm_projector_cfg: { model_type: 'v2l_projector', mm_projector_type: projector },
  }, 'test config.json');
}

function model(c: VilaConfig, seed: number): ReferenceTensors<VilaConfig> {
  const r = rng(seed);
  const tensors = new Map<string, Float64Array>();
  for (const t of vilaProjectorTensors(c)) tensors.set(t.name, Float64Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, () => 2 * r() - 1));
  return { config: c, tensors };
}

// VILA1.5's MultimodalProjector (base_projector.py at the VILA1.5 release), float64, from its source.
const ORACLE = `
import json, re, sys
import torch
import torch.nn as nn
torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
def load(name, shape):
    t = torch.frombuffer(bytearray(open(spec['files'][name], 'rb').read()), dtype=torch.float64)
    return t.reshape(shape)
class DownSampleBlock(nn.Module):
    def forward(self, x):
        vit_embeds = x
        h = w = int(vit_embeds.shape[1] ** 0.5)
        vit_embeds = vit_embeds.reshape(vit_embeds.shape[0], h, w, -1)
        vit_embeds = self.flat_square(vit_embeds)
        vit_embeds = vit_embeds.reshape(vit_embeds.shape[0], -1, vit_embeds.shape[-1])
        return vit_embeds
    def flat_square(self, x):
        n, w, h, c = x.size()
        if w % 2 == 1:
            x = torch.concat([x, torch.zeros((n, 1, h, c), dtype=x.dtype)], dim=1).contiguous()
            n, w, h, c = x.size()
        if h % 2 == 1:
            x = torch.concat([x, torch.zeros((n, w, 1, c), dtype=x.dtype)], dim=2).contiguous()
            n, w, h, c = x.size()
        x = x.view(n, w, int(h / 2), int(c * 2))
        x = x.permute(0, 2, 1, 3).contiguous()
        x = x.view(n, int(h / 2), int(w / 2), int(c * 4))
        return x
Dv, D, kind = spec['Dv'], spec['D'], spec['projector']
if kind == 'mlp_downsample':
    layers = nn.Sequential(DownSampleBlock(), nn.LayerNorm(Dv * 4), nn.Linear(Dv * 4, D), nn.GELU(), nn.Linear(D, D))
elif kind == 'linear':
    layers = nn.Linear(Dv, D)
else:
    depth = int(re.match(r'^mlp(\\d+)x_gelu$', kind).group(1))
    modules = [nn.Linear(Dv, D)]
    for _ in range(1, depth):
        modules.append(nn.GELU())
        modules.append(nn.Linear(D, D))
    layers = nn.Sequential(*modules)
state = {k: load(k, s) for k, s in spec['shapes'].items()}
prefix = 'layers.'
layers.load_state_dict({k[len(prefix):]: v for k, v in state.items()}, strict=True)
x = load('x', spec['x_shape'])
with torch.no_grad():
    y = layers(x)
open(spec['out'], 'wb').write(y.contiguous().numpy().tobytes() if hasattr(y, 'numpy') else b'')
print(json.dumps(list(y.shape)))
`;

const f64Bytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

let caseNo = 0;
async function compare(grid: number, projector: string, n: number): Promise<void> {
  const c = config(grid, projector);
  const m = model(c, 100 + caseNo);
  const T = c.visionTokens;
  const Dv = c.vision.hiddenSize;
  const r = rng(7 + caseNo);
  const x = Float64Array.from({ length: n * T * Dv }, () => 2 * r() - 1);
  const k = caseNo++;
  const files: Record<string, string> = {};
  const shapes: Record<string, number[]> = {};
  for (const t of vilaProjectorTensors(c)) {
    const local = t.name.slice('model.mm_projector.'.length); // the names in mm_projector/model.safetensors
    files[local] = join(tmp, `${k}-${local}.f64`);
    shapes[local] = t.shape;
    await writeFile(files[local]!, f64Bytes(m.tensors.get(t.name)!));
  }
  files['x'] = join(tmp, `${k}-x.f64`);
  await writeFile(files['x'], f64Bytes(x));
  const spec = { Dv, D: c.text.hiddenSize, projector, files, shapes, x_shape: [n, T, Dv], out: join(tmp, `${k}-out.f64`) };
  await writeFile(join(tmp, `${k}.json`), JSON.stringify(spec));
  const shape = JSON.parse(runPython(PY!, ORACLE, [join(tmp, `${k}.json`)])) as number[];
  expect(shape).toEqual([n, c.imageSeqLength, c.text.hiddenSize]);
  const theirs = new Float64Array(new Uint8Array(await readFile(spec.out)).buffer);
  const rows = c.imageSeqLength * c.text.hiddenSize;
  for (let i = 0; i < n; i++) {
    const ours = referenceVilaProjector(m, x.subarray(i * T * Dv, (i + 1) * T * Dv));
    expect(ours.length).toBe(rows);
    let worst = 0;
    for (let j = 0; j < rows; j++) worst = Math.max(worst, Math.abs(ours[j]! - theirs[i * rows + j]!));
    expect(worst, `${projector} grid ${grid} image ${i}: max |ours - torch|`).toBeLessThan(1e-12);
  }
}

describe.skipIf(!PY)('VILA projector (float64) vs torch', () => {
  it('mlp_downsample on an odd grid (zero row and column padded), two images', () => compare(5, 'mlp_downsample', 2));
  it('mlp_downsample on an even grid', () => compare(4, 'mlp_downsample', 1));
  it('mlp_downsample on a 3x3 grid (one real token in the last merged row)', () => compare(3, 'mlp_downsample', 1));
  it('mlp2x_gelu and linear keep every token', async () => {
    await compare(3, 'mlp2x_gelu', 1);
    await compare(3, 'linear', 1);
  });
});

describe('mlp_downsample token order', () => {
  it('the GPU gather rows give the float64 DownSampleBlock, zero rows where the grid is padded', () => {
    for (const grid of [3, 4, 5]) {
      const c = config(grid, 'mlp_downsample');
      const n = 2;
      const T = c.visionTokens;
      const C = c.vision.hiddenSize;
      const x = Float64Array.from({ length: n * T * C }, (_, i) => i + 1);
      const rows = downsampleGatherRows(c, n);
      expect(rows.length).toBe(n * c.imageSeqLength * 4);
      const table = new Float64Array((n * T + 1) * C);
      table.set(x);
      for (let i = 0; i < n; i++) {
        const want = referenceDownSample(x.subarray(i * T * C, (i + 1) * T * C), T, C);
        const got = new Float64Array(want.length);
        for (let q = 0; q < c.imageSeqLength * 4; q++) {
          const row = rows[i * c.imageSeqLength * 4 + q]!;
          got.set(table.subarray(row * C, (row + 1) * C), q * C);
        }
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    }
  });

  it('VILA1.5 flattens the merged grid column pair first: token 1 is the 2x2 block below token 0', () => {
    const c = config(4, 'mlp_downsample');
    const rows = downsampleGatherRows(c, 1);
    // token 0 = grid (0,0),(0,1),(1,0),(1,1); token 1 = (2,0),(2,1),(3,0),(3,1)
    expect(Array.from(rows.subarray(0, 8))).toEqual([0, 1, 4, 5, 8, 9, 12, 13]);
  });
});
