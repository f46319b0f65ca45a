export { DEMO_ARCH, DEMO_SPECIALS, TINY_TRAIN_ARCH, demoConfigJson, demoLlavaConfig, type DemoArch } from './config.js';
export { DEMO_MODEL_DIR } from './paths.js';
