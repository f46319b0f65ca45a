// Where the committed demo checkpoint lives (packages/toy/demo-model), from src/ and dist/ alike.
import { fileURLToPath } from 'node:url';

export const DEMO_MODEL_DIR: string = fileURLToPath(new URL('../../demo-model', import.meta.url));
