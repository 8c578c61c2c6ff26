import type { Context, Span, TextMapGetter } from '@opentelemetry/api';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { HandlerContext } from '@connectrpc/connect';
import { ThreadStoreService } from '../../gen/skein/threadstore/v1/thread_store_pb.js';

/**
 * Spans through `@opentelemetry/api` only: without an SDK registered by the application they are
 * no-ops costing a few object allocations. With one, every call is a SERVER span named
 * `skein.threadstore.v1.ThreadStoreService/<Method>`, a child of the caller's `traceparent`.
 */
const tracer = trace.getTracer('@skein/thread-store-remote');

const headerGetter: TextMapGetter<Headers> = {
  keys: (h) => [...h.keys()],
  get: (h, key) => h.get(key) ?? undefined,
};

/** Codes that say the server failed, rather than the caller: the span's status is ERROR. */
const SERVER_FAULTS = new Set(['internal', 'unavailable']);

/** The span of one call, and the context to run the call's work in (so its own spans nest). */
export function startCallSpan(method: string, ctx: HandlerContext): { span: Span; context: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, ctx.requestHeader, headerGetter);
  const span = tracer.startSpan(
    `${ThreadStoreService.typeName}/${method}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': ctx.protocolName === 'connect' ? 'connect_rpc' : 'grpc',
        'rpc.service': ThreadStoreService.typeName,
        'rpc.method': method,
        'skein.protocol': ctx.protocolName,
      },
    },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a call's span with its tenant, client and answer code. */
export function endCallSpan(
  span: Span,
  call: { tenant: string | null; clientId: string | null },
  code: string,
  message: string | undefined,
): void {
  if (call.tenant !== null) span.setAttribute('skein.tenant', call.tenant);
  if (call.clientId !== null) span.setAttribute('skein.client_id', call.clientId);
  span.setAttribute('skein.code', code);
  if (SERVER_FAULTS.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? code });
  span.end();
}

/** Runs `fn` with `ctx` active. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
