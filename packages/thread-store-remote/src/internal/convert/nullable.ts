import { create } from '@bufbuild/protobuf';
import { NullableStringSchema } from '../../gen/skein/threadstore/v1/types_pb.js';
import type { NullableString } from '../../gen/skein/threadstore/v1/types_pb.js';

/** Carries `undefined` / `null` / a string: absent message, `is_null`, or `value`. */
export function nullableToProto(v: string | null | undefined): NullableString | undefined {
  if (v === undefined) return undefined;
  if (v === null) return create(NullableStringSchema, { isNull: true });
  return create(NullableStringSchema, { value: v });
}

export function nullableFromProto(v: NullableString | undefined): string | null | undefined {
  if (v === undefined) return undefined;
  return v.isNull ? null : v.value;
}

/** proto3 `optional string` for an API `string | null`. */
export function optOf(v: string | null | undefined): string | undefined {
  return v == null ? undefined : v;
}

export function nullOf(v: string | undefined): string | null {
  return v === undefined ? null : v;
}
