export { readJsonFile } from './read-json.js';
