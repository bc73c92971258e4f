/** The edit request the benches' made-up job records carry (jobs-index, index-upgrade, record-writes). */
export const BENCH_REQUEST = {
  prompt: 'p',
  promptSource: 'default',
  size: 'auto',
  quality: 'medium',
  outputFormat: 'png',
} as const;
