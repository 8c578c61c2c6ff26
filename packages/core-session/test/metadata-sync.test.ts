import { newThreadId } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { ThreadMetadataSync } from '../src/internal/metadata-sync.js';
import { agentMessage, taskStarted, TestClock, userMessage } from './support/controlled-store.js';

const goal = (objective: string): RolloutItem => ({
  type: 'event_msg',
  payload: { type: 'thread_goal_updated', goal: { objective } },
});

function fresh(clock = new TestClock()) {
  const id = newThreadId();
  const sync = ThreadMetadataSync.forCreate(
    { threadId: id, source: { kind: 'cli' }, metadata: { cwd: '/p', modelProvider: 'openai' }, createdAt: clock.now() },
    clock.now,
    5_000,
  );
  return { sync, id, clock };
}

describe('ThreadMetadataSync', () => {
  it('keeps metadata derived from a resumed history pending until it is applied', () => {
    const clock = new TestClock();
    const id = newThreadId();
    const history: RolloutItem[] = [
      {
        type: 'session_meta',
        payload: { id, timestamp: '2025-01-03T10:00:00.000Z', cwd: '/repo', model_provider: 'prov', source: 'cli' },
      },
      userMessage('## My request for Codex:\n  the task  '),
    ];
    const sync = ThreadMetadataSync.forResume(id, history, clock.now, 5_000);
    expect(sync.shouldEmit()).toBe(false);
    const taken = sync.take();
    expect(taken?.patch).toMatchObject({
      createdAt: new Date('2025-01-03T10:00:00.000Z'),
      cwd: '/repo',
      modelProvider: 'prov',
      preview: 'the task',
      firstUserMessage: 'the task',
      title: 'the task',
    });
    expect(taken?.patch.updatedAt).toBeUndefined();
    // Taking does not clear; applying the taken generation does.
    expect(sync.hasPending()).toBe(true);
    sync.markApplied(taken?.generation ?? -1);
    expect(sync.hasPending()).toBe(false);
  });

  it('waits for an append before releasing resumed metadata', () => {
    const clock = new TestClock();
    const id = newThreadId();
    const sync = ThreadMetadataSync.forResume(id, [userMessage('old')], clock.now, 5_000);
    expect(sync.shouldEmit()).toBe(false);
    expect(sync.observeAppended([agentMessage('new output')])).toBe(true);
    expect(sync.take()?.patch).toMatchObject({ preview: 'old', updatedAt: clock.now() });
  });

  it('a marked generation does not clear facts merged after it was taken', () => {
    const { sync } = fresh();
    sync.observeAppended([userMessage('first')]);
    const taken = sync.take();
    sync.observeAppended([goal('ignored: preview already set')]);
    sync.observeAppended([taskStarted('t2')]);
    sync.markApplied(taken?.generation ?? -1);
    expect(sync.hasPending()).toBe(true);
    expect(sync.take()?.patch.advanceRecencyAt).toBeInstanceOf(Date);
  });

  it('a goal sets the preview only when there is none yet', () => {
    const a = fresh().sync;
    a.observeAppended([goal('ship the release')]);
    a.observeAppended([userMessage('later message')]);
    const pa = a.take()?.patch;
    expect(pa?.preview).toBe('ship the release');
    expect(pa?.firstUserMessage).toBe('later message');

    const b = fresh().sync;
    b.observeAppended([userMessage('the request')]);
    b.observeAppended([goal('a goal')]);
    expect(b.take()?.patch.preview).toBe('the request');
  });

  it('turn starts advance recencyAt; other output only touches updatedAt', () => {
    const { sync, clock } = fresh();
    sync.observeAppended([userMessage('x')]);
    sync.markApplied(sync.take()?.generation ?? -1);
    clock.advance(10_000);
    expect(sync.observeAppended([agentMessage('output')])).toBe(true);
    const touch = sync.take();
    expect(Object.keys(touch?.patch ?? {})).toEqual(['updatedAt']);
    sync.markApplied(touch?.generation ?? -1);
    clock.advance(1);
    // A turn start is a fact: emitted at once even inside the touch window.
    expect(sync.observeAppended([taskStarted('t')])).toBe(true);
    expect(sync.take()?.patch).toEqual({ advanceRecencyAt: clock.now(), updatedAt: clock.now() });
  });

  it('an image-only first message previews as [Image]', () => {
    const { sync } = fresh();
    sync.observeAppended([
      { type: 'event_msg', payload: { type: 'user_message', message: '', images: ['https://x/y.png'] } },
    ]);
    expect(sync.take()?.patch).toMatchObject({ preview: '[Image]', firstUserMessage: '[Image]', title: '[Image]' });
  });
});
