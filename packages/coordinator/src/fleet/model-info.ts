// What the coordinator needs to know of a model without running it: its hash (workers must hold the
// same weights) and its head geometry (the shape of the sums and masks). Reads the checkpoint's
// config and hashes its files; no device is acquired.
import { basename, resolve } from 'node:path';
import type { Geometry } from '../protocol/index.js';

export interface ModelInfo {
  readonly id: string;
  readonly hash: string;
  readonly geometry: Geometry;
}

export async function readModelInfo(dir: string): Promise<ModelInfo> {
  // Loaded on demand: the coordinator itself never needs the GPU stack @mtv/model pulls in.
  const { openCheckpoint } = await import('@mtv/model');
  const ck = await openCheckpoint(dir);
  try {
    const t = ck.config.text;
    return { id: basename(resolve(dir)), hash: await ck.hash(), geometry: { layers: t.numLayers, heads: t.numHeads, headDim: t.headDim } };
  } finally {
    await ck.close();
  }
}
