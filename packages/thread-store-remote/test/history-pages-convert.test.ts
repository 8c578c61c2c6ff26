import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { ItemPage, ListItemsParams, ListTurnsParams, TurnPage } from '@skein/thread-store-api';
import { newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import {
  ListItemsRequestSchema,
  ListItemsResponseSchema,
  ListTurnsRequestSchema,
  ListTurnsResponseSchema,
} from '../src/gen/skein/threadstore/v1/thread_store_pb.js';
import {
  itemPageFromProto,
  itemPageToProto,
  listItemsParamsFromProto,
  listItemsParamsToProto,
  listTurnsParamsFromProto,
  listTurnsParamsToProto,
  turnPageFromProto,
  turnPageToProto,
} from '../src/internal/convert/history-pages.js';

// Through the binary wire form, as between client and server.
const wire = {
  turnParams: (p: ListTurnsParams) =>
    listTurnsParamsFromProto(
      fromBinary(
        ListTurnsRequestSchema,
        toBinary(ListTurnsRequestSchema, create(ListTurnsRequestSchema, listTurnsParamsToProto(p))),
      ),
    ),
  itemParams: (p: ListItemsParams) =>
    listItemsParamsFromProto(
      fromBinary(
        ListItemsRequestSchema,
        toBinary(ListItemsRequestSchema, create(ListItemsRequestSchema, listItemsParamsToProto(p))),
      ),
    ),
  turns: (p: TurnPage) =>
    turnPageFromProto(
      fromBinary(
        ListTurnsResponseSchema,
        toBinary(ListTurnsResponseSchema, create(ListTurnsResponseSchema, turnPageToProto(p))),
      ),
    ),
  items: (p: ItemPage) =>
    itemPageFromProto(
      fromBinary(
        ListItemsResponseSchema,
        toBinary(ListItemsResponseSchema, create(ListItemsResponseSchema, itemPageToProto(p))),
      ),
    ),
};

describe('turn and item pages on the wire', () => {
  it('parameters keep what was given and leave defaults absent', () => {
    const threadId = newThreadId();
    expect(wire.turnParams({ threadId })).toEqual({ threadId });
    const full: ListTurnsParams = {
      threadId,
      includeArchived: true,
      cursor: 'skh1.x',
      pageSize: 7,
      sortDirection: 'asc',
      itemsView: 'notLoaded',
    };
    expect(wire.turnParams(full)).toEqual(full);
    expect(wire.itemParams({ threadId })).toEqual({ threadId });
    const items: ListItemsParams = {
      threadId,
      turnId: 't-1',
      includeArchived: false,
      cursor: 'c',
      pageSize: 0,
      sortDirection: 'desc',
    };
    expect(wire.itemParams(items)).toEqual(items);
  });

  it('pages keep every field: statuses, errors with details, absent times, item JSON', () => {
    const item = {
      turnId: 't1',
      itemId: 'item-1',
      ordinal: 12,
      createdAt: new Date(1_700_000_000_123),
      item: { type: 'userMessage', id: 'item-1', clientId: null, content: [{ type: 'text', text: 'héllo ✓' }] },
    };
    const page: TurnPage = {
      turns: [
        {
          turnId: 't1',
          ordinal: 10,
          status: 'failed',
          error: { message: 'boom', additionalDetails: { codex_error_info: 'other' } },
          startedAt: new Date(1_700_000_000_000),
          completedAt: new Date(1_700_000_002_000),
          durationMs: 2000,
          itemsView: 'full',
          items: [item, { ...item, itemId: 'x', createdAt: null }],
        },
        {
          turnId: 'legacy-turn-3',
          ordinal: 30,
          status: 'inProgress',
          error: { message: '', additionalDetails: null },
          startedAt: null,
          completedAt: null,
          durationMs: null,
          itemsView: 'notLoaded',
          items: [],
        },
        {
          ...{
            turnId: 'i',
            ordinal: 40,
            error: null,
            startedAt: null,
            completedAt: null,
            durationMs: null,
            itemsView: 'summary' as const,
            items: [],
          },
          status: 'interrupted',
        },
      ],
      nextCursor: 'next',
      backwardsCursor: null,
    };
    expect(wire.turns(page)).toEqual(page);
    const items: ItemPage = { items: [item], nextCursor: null, backwardsCursor: 'back' };
    expect(wire.items(items)).toEqual(items);
  });
});
