// VILA's float64 image features (LlavaMetaModel.encode_images) against an independent torch float64
// forward written from VILA1.5 and transformers' SiglipVisionModel: the patch conv, position embeddings,
// every encoder layer (pre-LN, biased attention, tanh GELU MLP) with output_hidden_states, the
// mm_vision_select_layer (-2) entry taken before post_layernorm, all tokens kept ('cls_patch'), then
// VILA1.5's mlp_downsample. The tiny checkpoint's tower runs more layers than the selected state needs,
// so a wrong layer index or a post-norm would show.
// Needs python3 with torch (python3-torch); skipped without it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rng } from '@mtv/kernels';
import { loadReferenceModel, loadTokenizer, openCheckpoint, writeTinyVila, type RgbImage } from '../src/index.js';
import { VilaProcessor, referenceVilaImageFeatures, type VilaConfig } from '../src/families/vila/index.js';
import type { ReferenceTensors } from '../src/families/types.js';
import { findPython, runPython, skipReason } from './python-oracle.js';
import { useTempDir } from './temp-dir.js';

let tmp = '';
useTempDir('vila-vision-', (d) => (tmp = d));

const MODULES = ['torch'];
const PY = findPython(MODULES);
if (!PY) console.warn(`vila-vision.test.ts: torch oracle SKIPPED: ${skipReason(MODULES)}`);

const ORACLE = `
import json, math, sys
import torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
spec = json.load(open(sys.argv[1]))
W = {}
for name, (file, shape) in spec['tensors'].items():
    W[name] = torch.frombuffer(bytearray(open(file, 'rb').read()), dtype=torch.float64).reshape(shape)
v = spec['vision']
d, heads, eps, p = v['hidden_size'], v['num_attention_heads'], v['layer_norm_eps'], v['patch_size']
V = 'vision_model.'
px = torch.frombuffer(bytearray(open(spec['pixels'], 'rb').read()), dtype=torch.float64).reshape(spec['pixel_shape'])
def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
def layer(x, i):
    L = f'{V}encoder.layers.{i}.'
    h = F.layer_norm(x, (d,), W[L + 'layer_norm1.weight'], W[L + 'layer_norm1.bias'], eps)
    n, t, _ = h.shape
    def proj(name):
        return (h @ W[L + f'self_attn.{name}.weight'].T + W[L + f'self_attn.{name}.bias']).reshape(n, t, heads, d // heads).transpose(1, 2)
    q, k, vv = proj('q_proj'), proj('k_proj'), proj('v_proj')
    a = torch.softmax(q @ k.transpose(-1, -2) * (d // heads) ** -0.5, dim=-1) @ vv
    a = a.transpose(1, 2).reshape(n, t, d) @ W[L + 'self_attn.out_proj.weight'].T + W[L + 'self_attn.out_proj.bias']
    x = x + a
    h = F.layer_norm(x, (d,), W[L + 'layer_norm2.weight'], W[L + 'layer_norm2.bias'], eps)
    h = gelu_tanh(h @ W[L + 'mlp.fc1.weight'].T + W[L + 'mlp.fc1.bias']) @ W[L + 'mlp.fc2.weight'].T + W[L + 'mlp.fc2.bias']
    return x + h
emb = F.conv2d(px, W[V + 'embeddings.patch_embedding.weight'], W[V + 'embeddings.patch_embedding.bias'], stride=p)
x = emb.flatten(2).transpose(1, 2) + W[V + 'embeddings.position_embedding.weight']
hidden_states = [x]
for i in range(v['num_hidden_layers']):
    x = layer(x, i)
    hidden_states.append(x)
feats = hidden_states[spec['select_layer']]  # VisionTower.feature_select, 'cls_patch': every token
# MultimodalProjector mlp_downsample (VILA1.5 base_projector.py)
n, t, c = feats.shape
h = w = int(t ** 0.5)
x = feats.reshape(n, h, w, -1)
n, w, h, c = x.size()
if w % 2 == 1:
    x = torch.concat([x, torch.zeros((n, 1, h, c))], dim=1).contiguous(); n, w, h, c = x.size()
if h % 2 == 1:
    x = torch.concat([x, torch.zeros((n, w, 1, c))], dim=2).contiguous(); n, w, h, c = x.size()
x = x.view(n, w, int(h / 2), int(c * 2)).permute(0, 2, 1, 3).contiguous().view(n, int(h / 2), int(w / 2), int(c * 4))
x = x.reshape(n, -1, x.shape[-1])
P = 'layers.'
x = F.layer_norm(x, (4 * c,), W[P + '1.weight'], W[P + '1.bias'], 1e-5)
x = F.gelu(x @ W[P + '2.weight'].T + W[P + '2.bias'])
x = x @ W[P + '4.weight'].T + W[P + '4.bias']
open(spec['out'], 'wb').write(x.contiguous().numpy().tobytes())
print(json.dumps(list(x.shape)))
`;

function randomImage(seed: number, width: number, height: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(256 * r())), source: `random image ${seed}` };
}

const f64Bytes = (a: Float64Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.skipIf(!PY)('VILA image features (float64) vs torch', () => {
  it('SigLIP hidden_states[-2] (no post_layernorm, all tokens) + mlp_downsample, two images', async () => {
    const dir = join(tmp, 'ck');
    await writeTinyVila(dir, { seed: 11 });
    const ck = await openCheckpoint(dir);
    let ref: ReferenceTensors<VilaConfig>;
    let proc: VilaProcessor;
    try {
      ref = (await loadReferenceModel(ck)) as ReferenceTensors<VilaConfig>;
      proc = await VilaProcessor.load(dir, ck.config as VilaConfig, await loadTokenizer(ck.tokenizerDir));
    } finally {
      await ck.close();
    }
    const c = ref.config;
    expect(c.visionHiddenStateIndex).toBeLessThan(c.vision.numLayers); // some layers are never run
    const p = await proc.prepare({ text: '<image><image>two', images: [randomImage(1, 33, 51), randomImage(2, 60, 20)] });
    const px = Float64Array.from(p.pixels!.data);
    // every tower and projector tensor, by its name inside vision_tower/ and mm_projector/ (post_layernorm is not loaded: not used)
    const tensors: Record<string, [string, number[]]> = {};
    const ck2 = await openCheckpoint(dir);
    try {
      for (const e of ck2.expected) {
        if (!e.name.startsWith('model.vision_tower.') && !e.name.startsWith('model.mm_projector.')) continue;
        if (!ck2.has(e.name) || e.name.includes('post_layernorm')) continue;
        const local = ck2.source(e.name).diskName;
        const file = join(tmp, `${local}.f64`);
        await writeFile(file, f64Bytes(await ck2.readF64(e.name)));
        tensors[local] = [file, e.shape];
      }
    } finally {
      await ck2.close();
    }
    const pixels = join(tmp, 'pixels.f64');
    await writeFile(pixels, f64Bytes(px));
    const vision = { hidden_size: c.vision.hiddenSize, num_attention_heads: c.vision.numHeads, layer_norm_eps: c.vision.layerNormEps, patch_size: c.vision.patchSize, num_hidden_layers: c.vision.numLayers };
    const spec = { tensors, vision, pixels, pixel_shape: p.pixels!.shape, select_layer: c.visionSelectLayer, out: join(tmp, 'out.f64') };
    await writeFile(join(tmp, 'spec.json'), JSON.stringify(spec));
    const shape = JSON.parse(runPython(PY!, ORACLE, [join(tmp, 'spec.json')])) as number[];
    expect(shape).toEqual([2, c.imageSeqLength, c.text.hiddenSize]);
    const theirs = new Float64Array(new Uint8Array(await readFile(spec.out)).buffer);
    const ours = referenceVilaImageFeatures(ref, { data: px, shape: p.pixels!.shape });
    expect(ours.length).toBe(theirs.length);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    expect(worst).toBeLessThan(1e-10);
  });
});
