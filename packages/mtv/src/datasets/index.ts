export { DATASET_FORMATS, DatasetError, isDatasetFormat, type Dataset, type DatasetFormat, type Example, type ImageProblem, type QaExample, type TwoWayExample } from './types.js';
export { loadDataset, type ImageDecoder, type LoadDatasetOptions } from './load.js';
export { parseDatasetText } from './parse.js';
export { resolveInRoot, realRoot, PathEscapeError } from './paths.js';
export { datasetHash, canonicalExample } from './hash.js';
export { checkAnnotationCoverage, loadVqaAnnotations, parseVqaAnnotations } from './annotations.js';
