export { readJsonFile } from './read-json.js';
export { isMainModule } from './main-module.js';
