export { ArtifactError, type ArtifactLocator, type MtvArtifact, type MtvProvenance, type RunRecord } from './types.js';
export { readArtifact, writeArtifact, checkArtifact, ARTIFACT_FORMAT, ARTIFACT_VERSION, ARTIFACT_VERSION_LOCATOR, MTV_CODE_VERSION, type ReadArtifactOptions } from './io.js';
export { mergeArtifacts, extendArtifact, type CombineOptions } from './combine.js';
