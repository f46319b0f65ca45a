export { atomicTarget, checkOutputs, checkWritable, realpathLoose, withAtomicFile, writeFileAtomic, OutputPathError, type AtomicTarget, type InputRef, type PathRef } from './output-path.js';
