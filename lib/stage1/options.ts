// Stage 1 validates options with the package-wide helper.
export { parseOptions } from '../options.js';
