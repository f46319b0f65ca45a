export { processPunctuation, processDigitArticle, normalizeVqaAnswer, vqaAccuracy, type AnswerRecord, type VqaVariant, type VqaAccuracyOptions } from './vqa.js';
export { VQA_CONTRACTIONS } from './contractions.js';
export { scoreVqa, type VqaAnnotation, type VqaPrediction, type VqaScore, type ScoreVqaOptions } from './vqa-score.js';
export { firstAnswerSpan, exactMatch, normalizedExactMatch, optionLetter, extractOptionLetter, optionAccuracy } from './match.js';
export { wilsonInterval, normalMeanInterval, bootstrapMeanInterval, Z95, type Interval } from './intervals.js';
