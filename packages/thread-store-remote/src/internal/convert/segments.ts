import { create } from '@bufbuild/protobuf';
import type { ThreadSegment } from '@skein/thread-store-api';
import { parseThreadId, ThreadStoreError } from '@skein/thread-store-api';
import { SegmentHistoryBaseSchema, SegmentSchema } from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import type { Segment } from '../../gen/skein/threadstore/v1/thread_store_pb.js';

/** A thread's segment on the wire. */
export function segmentToProto(s: ThreadSegment): Segment {
  const out = create(SegmentSchema, { rolloutId: s.rolloutId });
  if (s.historyBase !== null)
    out.historyBase = create(SegmentHistoryBaseSchema, {
      threadId: s.historyBase.threadId,
      endOrdinalExclusive: BigInt(s.historyBase.endOrdinalExclusive),
      endByteOffset: BigInt(s.historyBase.endByteOffset),
    });
  return out;
}

/** A segment the server sent; ids and numbers are checked, so a bad answer is not passed on. */
export function segmentFromProto(s: Segment): ThreadSegment {
  const rolloutId = parseThreadId(s.rolloutId, 'a segment rollout id from the server');
  const b = s.historyBase;
  if (b === undefined) return { rolloutId, historyBase: null };
  const end = Number(b.endOrdinalExclusive);
  const bytes = Number(b.endByteOffset);
  if (!Number.isSafeInteger(end) || !Number.isSafeInteger(bytes))
    throw ThreadStoreError.internal(`the server sent a segment history base out of range for rollout ${rolloutId}`);
  return {
    rolloutId,
    historyBase: {
      threadId: parseThreadId(b.threadId, 'a segment history base thread id from the server'),
      endOrdinalExclusive: end,
      endByteOffset: bytes,
    },
  };
}
