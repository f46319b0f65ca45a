export { readModelInfo, type ModelInfo } from './model-info.js';
export { FleetCoordinator, type FleetCoordinatorOptions } from './coordinator.js';
