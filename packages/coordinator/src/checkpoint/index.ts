export { CheckpointStore, CheckpointError, Throttle } from './store.js';
