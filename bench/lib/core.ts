// The entry point bench/lib/bundle.ts bundles: the language core's public functions.
export { AnalysisCache, analyze, clearModelCache, diskHost } from '../../server/src/analysis/analysis';
export { clearParseCache, parse } from '../../server/src/language/parser';
