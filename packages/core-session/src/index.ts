export { LiveThread, LiveThreadInitGuard, requireLocalPaths } from './live-thread.js';
export type { LiveThreadCreateParams, LiveThreadOptions, LiveThreadResumeParams } from './live-thread.js';
export { Session } from './session.js';
export type {
  Op,
  ResumeSessionOptions,
  SessionEvent,
  SessionEventMsg,
  SessionOptions,
  StartSessionOptions,
  UserInput,
} from './session.js';
export { lastUserText } from './model-client.js';
export type { ModelClient, ModelRequest, ModelStreamEvent } from './model-client.js';
export { EchoModelClient } from './echo-model-client.js';
export type { EchoModelClientOptions } from './echo-model-client.js';
export { OpenAIResponsesModelClient } from './openai-responses-model-client.js';
export type { OpenAIResponsesModelClientOptions } from './openai-responses-model-client.js';
export { TURN_ABORTED_MARKER } from './internal/turn-items.js';
