export { LiveThread, LiveThreadInitGuard, requireLocalPaths } from './live-thread.js';
export type { LiveThreadCreateParams, LiveThreadOptions, LiveThreadResumeParams } from './live-thread.js';
