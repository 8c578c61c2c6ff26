import { create } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { isObject, ThreadStoreError } from '@skein/thread-store-api';
import type {
  ItemPage,
  ListItemsParams,
  ListTurnsParams,
  StoredThreadItem,
  StoredTurn,
  StoredTurnItemsView,
  StoredTurnStatus,
  ThreadId,
  TurnPage,
} from '@skein/thread-store-api';
import {
  ListItemsRequestSchema,
  ListTurnsRequestSchema,
  ThreadItemSchema,
  TurnErrorSchema,
  TurnItemsView,
  TurnSchema,
  TurnStatus,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import type {
  ListItemsRequest,
  ListItemsResponse,
  ListItemsResponseSchema,
  ListTurnsRequest,
  ListTurnsResponse,
  ListTurnsResponseSchema,
  ThreadItem,
  Turn,
} from '../../gen/skein/threadstore/v1/thread_store_pb.js';
import { sortDirectionFromProto, sortDirectionToProto } from './enums.js';
import { jsonBytes, parseJsonBytes } from './json-bytes.js';
import { dateOf, int64Of, msOf } from './time.js';

// ---- enums ---------------------------------------------------------------------------------------

function viewToProto(v: StoredTurnItemsView | undefined): TurnItemsView {
  switch (v) {
    case undefined:
      return TurnItemsView.UNSPECIFIED;
    case 'notLoaded':
      return TurnItemsView.NOT_LOADED;
    case 'summary':
      return TurnItemsView.SUMMARY;
    case 'full':
      return TurnItemsView.FULL;
    default:
      throw ThreadStoreError.invalidRequest(`itemsView must be notLoaded, summary or full, got ${String(v)}`);
  }
}

function viewFromProto(v: TurnItemsView): StoredTurnItemsView | undefined {
  switch (v) {
    case TurnItemsView.UNSPECIFIED:
      return undefined;
    case TurnItemsView.NOT_LOADED:
      return 'notLoaded';
    case TurnItemsView.SUMMARY:
      return 'summary';
    case TurnItemsView.FULL:
      return 'full';
    default:
      throw ThreadStoreError.invalidRequest(`unknown items view ${String(v)}`);
  }
}

const STATUS_TO_PROTO: Record<StoredTurnStatus, TurnStatus> = {
  completed: TurnStatus.COMPLETED,
  interrupted: TurnStatus.INTERRUPTED,
  failed: TurnStatus.FAILED,
  inProgress: TurnStatus.IN_PROGRESS,
};

function statusFromProto(v: TurnStatus): StoredTurnStatus {
  for (const [k, p] of Object.entries(STATUS_TO_PROTO)) if (p === v) return k as StoredTurnStatus;
  throw ThreadStoreError.invalidRequest(`unknown turn status ${String(v)}`);
}

// ---- requests ------------------------------------------------------------------------------------

export function listTurnsParamsToProto(p: ListTurnsParams): MessageInitShape<typeof ListTurnsRequestSchema> {
  const out: MessageInitShape<typeof ListTurnsRequestSchema> = {
    threadId: p.threadId,
    sortDirection: sortDirectionToProto(p.sortDirection),
    itemsView: viewToProto(p.itemsView),
  };
  if (p.includeArchived !== undefined) out.includeArchived = p.includeArchived;
  if (p.cursor != null) out.cursor = p.cursor;
  if (p.pageSize !== undefined) out.pageSize = p.pageSize;
  return out;
}

export function listTurnsParamsFromProto(r: ListTurnsRequest): ListTurnsParams {
  const p: ListTurnsParams = { threadId: r.threadId as ThreadId };
  if (r.includeArchived !== undefined) p.includeArchived = r.includeArchived;
  if (r.cursor !== undefined) p.cursor = r.cursor;
  if (r.pageSize !== undefined) p.pageSize = r.pageSize;
  const dir = sortDirectionFromProto(r.sortDirection);
  if (dir !== undefined) p.sortDirection = dir;
  const view = viewFromProto(r.itemsView);
  if (view !== undefined) p.itemsView = view;
  return p;
}

export function listItemsParamsToProto(p: ListItemsParams): MessageInitShape<typeof ListItemsRequestSchema> {
  const out: MessageInitShape<typeof ListItemsRequestSchema> = {
    threadId: p.threadId,
    sortDirection: sortDirectionToProto(p.sortDirection),
  };
  if (p.turnId != null) out.turnId = p.turnId;
  if (p.includeArchived !== undefined) out.includeArchived = p.includeArchived;
  if (p.cursor != null) out.cursor = p.cursor;
  if (p.pageSize !== undefined) out.pageSize = p.pageSize;
  return out;
}

export function listItemsParamsFromProto(r: ListItemsRequest): ListItemsParams {
  const p: ListItemsParams = { threadId: r.threadId as ThreadId };
  if (r.turnId !== undefined) p.turnId = r.turnId;
  if (r.includeArchived !== undefined) p.includeArchived = r.includeArchived;
  if (r.cursor !== undefined) p.cursor = r.cursor;
  if (r.pageSize !== undefined) p.pageSize = r.pageSize;
  const dir = sortDirectionFromProto(r.sortDirection);
  if (dir !== undefined) p.sortDirection = dir;
  return p;
}

// ---- results -------------------------------------------------------------------------------------

function itemToProto(i: StoredThreadItem): ThreadItem {
  const out = create(ThreadItemSchema, {
    turnId: i.turnId,
    itemId: i.itemId,
    ordinal: int64Of(i.ordinal, 'item ordinal'),
    itemJson: jsonBytes(i.item, 'a thread item'),
  });
  if (i.createdAt !== null) out.createdAtMs = msOf(i.createdAt, 'item createdAt');
  return out;
}

function itemFromProto(i: ThreadItem): StoredThreadItem {
  const item = parseJsonBytes(i.itemJson, 'a thread item from the server');
  if (!isObject(item)) throw ThreadStoreError.internal('the server sent a thread item that is not a JSON object');
  return {
    turnId: i.turnId,
    itemId: i.itemId,
    ordinal: Number(i.ordinal),
    createdAt: i.createdAtMs === undefined ? null : dateOf(i.createdAtMs),
    item,
  };
}

function turnToProto(t: StoredTurn): Turn {
  const out = create(TurnSchema, {
    turnId: t.turnId,
    ordinal: int64Of(t.ordinal, 'turn ordinal'),
    status: STATUS_TO_PROTO[t.status],
    itemsView: viewToProto(t.itemsView),
    items: t.items.map(itemToProto),
  });
  if (t.error !== null) {
    out.error = create(TurnErrorSchema, { message: t.error.message });
    if (t.error.additionalDetails != null)
      out.error.additionalDetailsJson = jsonBytes(t.error.additionalDetails, 'turn error details');
  }
  if (t.startedAt !== null) out.startedAtMs = msOf(t.startedAt, 'turn startedAt');
  if (t.completedAt !== null) out.completedAtMs = msOf(t.completedAt, 'turn completedAt');
  if (t.durationMs !== null) out.durationMs = int64Of(t.durationMs, 'turn durationMs');
  return out;
}

function turnFromProto(t: Turn): StoredTurn {
  return {
    turnId: t.turnId,
    ordinal: Number(t.ordinal),
    status: statusFromProto(t.status),
    error: t.error
      ? {
          message: t.error.message,
          additionalDetails:
            t.error.additionalDetailsJson === undefined
              ? null
              : parseJsonBytes(t.error.additionalDetailsJson, 'turn error details from the server'),
        }
      : null,
    startedAt: t.startedAtMs === undefined ? null : dateOf(t.startedAtMs),
    completedAt: t.completedAtMs === undefined ? null : dateOf(t.completedAtMs),
    durationMs: t.durationMs === undefined ? null : Number(t.durationMs),
    itemsView: viewFromProto(t.itemsView) ?? 'summary',
    items: t.items.map(itemFromProto),
  };
}

function cursors(page: { nextCursor: string | null; backwardsCursor: string | null }): {
  nextCursor?: string;
  backwardsCursor?: string;
} {
  const out: { nextCursor?: string; backwardsCursor?: string } = {};
  if (page.nextCursor !== null) out.nextCursor = page.nextCursor;
  if (page.backwardsCursor !== null) out.backwardsCursor = page.backwardsCursor;
  return out;
}

export function turnPageToProto(page: TurnPage): MessageInitShape<typeof ListTurnsResponseSchema> {
  return { turns: page.turns.map(turnToProto), ...cursors(page) };
}

export function turnPageFromProto(r: ListTurnsResponse): TurnPage {
  return {
    turns: r.turns.map(turnFromProto),
    nextCursor: r.nextCursor ?? null,
    backwardsCursor: r.backwardsCursor ?? null,
  };
}

export function itemPageToProto(page: ItemPage): MessageInitShape<typeof ListItemsResponseSchema> {
  return { items: page.items.map(itemToProto), ...cursors(page) };
}

export function itemPageFromProto(r: ListItemsResponse): ItemPage {
  return {
    items: r.items.map(itemFromProto),
    nextCursor: r.nextCursor ?? null,
    backwardsCursor: r.backwardsCursor ?? null,
  };
}
