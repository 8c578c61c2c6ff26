import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { collectHistory, isObject, isThreadStoreError } from '@skein/thread-store-api';
import type { RolloutItem } from '@skein/thread-store-api';
import { afterEach, describe, expect, it } from 'vitest';
import { EchoModelClient, Session, TURN_ABORTED_MARKER } from '../src/index.js';
import type { EchoModelClientOptions } from '../src/index.js';
import { EventReader, shape } from './support/events.js';
import { inMemoryFactory, localFactory } from './support/stores.js';
import type { StoreFactory, StoreHarness } from './support/stores.js';

const factories: StoreFactory[] = [inMemoryFactory];
const local = await localFactory();
if (local) factories.push(local);

/** `type` or `type:payload.type` (`role` for messages) of each line. */
function lineKinds(items: readonly RolloutItem[]): string[] {
  return items.map((i) => {
    const p = isObject(i.payload) ? i.payload : {};
    if (i.type === 'event_msg') return `event_msg:${String(p.type)}`;
    if (i.type === 'response_item') return `response_item:${String(p.type)}:${String(p.role)}`;
    return i.type;
  });
}

const TURN_LINES = [
  'event_msg:task_started',
  'turn_context',
  'response_item:message:user',
  'event_msg:user_message',
  'event_msg:agent_message',
  'response_item:message:assistant',
  'event_msg:token_count',
  'event_msg:task_complete',
];

describe.each(factories)('Session over $name', (factory) => {
  const harnesses: StoreHarness[] = [];
  afterEach(async () => {
    for (const x of harnesses.splice(0)) await x.cleanup();
  });
  async function start(modelOptions: EchoModelClientOptions = {}, extra: { ephemeral?: boolean } = {}) {
    const h = await factory.make();
    harnesses.push(h);
    const model = new EchoModelClient({ provider: 'openai', model: 'echo-1', ...modelOptions });
    const session = await Session.start({ store: h.store, model, cwd: h.cwd, cliVersion: '0.1.0', ...extra });
    return { h, session, events: new EventReader(session) };
  }

  it('records a turn exactly as a legacy Codex turn', async () => {
    const { h, session, events } = await start();
    const sub = session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'hello there' }] });
    const msgs = await events.until('turn_complete');
    expect(shape(msgs)).toEqual([
      'turn_started',
      'user_message',
      'agent_message_delta',
      'agent_message',
      'token_count',
      'turn_complete',
    ]);
    expect(events.seen.every((e) => e.id === sub)).toBe(true);
    expect(
      msgs
        .filter((m) => m.type === 'agent_message_delta')
        .map((m) => (m as { delta: string }).delta)
        .join(''),
    ).toBe('echo: hello there');
    expect(msgs.at(-1)).toMatchObject({ type: 'turn_complete', lastAgentMessage: 'echo: hello there' });

    session.submit({ type: 'shutdown' });
    expect(shape(await events.until('shutdown_complete'))).toEqual(['shutdown_complete']);
    expect(await events.next()).toBeNull();

    const thread = await h.store.readThread({ threadId: session.threadId, includeHistory: true });
    const history = await collectHistory(thread.history);
    expect(lineKinds(history)).toEqual(['session_meta', ...TURN_LINES]);
    expect(thread.preview).toBe('hello there');
    expect(thread.model).toBe('echo-1');
    expect(thread.tokenUsage?.totalTokens).toBeGreaterThan(0);
    const [, started, ctx, , userMsg, agentMsg, , , complete] = history;
    const turnId = (started?.payload as { turn_id: string }).turn_id;
    expect(ctx?.payload).toMatchObject({ turn_id: turnId, cwd: h.cwd, model: 'echo-1', approval_policy: 'never' });
    expect(userMsg?.payload).toMatchObject({ message: 'hello there', images: [], local_images: [] });
    expect(agentMsg?.payload).toMatchObject({ message: 'echo: hello there' });
    expect(complete?.payload).toMatchObject({ turn_id: turnId, last_agent_message: 'echo: hello there' });
    expect(history.every((i) => typeof i.timestamp === 'string')).toBe(true);
  });

  it('records an interrupted turn as aborted with the marker message', async () => {
    const { h, session, events } = await start({
      pause: (_p, signal) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })),
    });
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'long task' }] });
    await events.until('agent_message_delta');
    const interrupt = session.submit({ type: 'interrupt' });
    const msgs = await events.until('turn_aborted');
    expect(msgs.at(-1)).toMatchObject({ type: 'turn_aborted', reason: 'interrupted' });
    expect(msgs.some((m) => m.type === 'turn_complete' || m.type === 'agent_message')).toBe(false);
    expect(interrupt).not.toBe('');

    // The session goes on: a second turn starts after the aborted one and can be interrupted too.
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'next' }] });
    await events.until('agent_message_delta');
    session.submit({ type: 'interrupt' });
    await events.until('turn_aborted');
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');

    const history = await collectHistory(h.store.loadHistory({ threadId: session.threadId }));
    const abortedTurn = [
      'event_msg:task_started',
      'turn_context',
      'response_item:message:user',
      'event_msg:user_message',
      'response_item:message:user',
      'event_msg:turn_aborted',
    ];
    expect(lineKinds(history)).toEqual(['session_meta', ...abortedTurn, ...abortedTurn]);
    const marker = history[5]?.payload as { content: Array<{ text: string }> };
    expect(marker.content[0]?.text).toBe(TURN_ABORTED_MARKER);
    expect(history[6]?.payload).toMatchObject({ type: 'turn_aborted', reason: 'interrupted' });
    const thread = await h.store.readThread({ threadId: session.threadId });
    expect(thread.preview).toBe('long task');
  });

  it('ends a turn whose model call failed with an error event and a completed turn', async () => {
    const { h, session, events } = await start({ failWhen: (p) => p.includes('FAIL') });
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'please FAIL' }] });
    const msgs = await events.until('turn_complete');
    expect(shape(msgs)).toEqual(['turn_started', 'user_message', 'error', 'token_count', 'turn_complete']);
    expect(msgs[2]).toMatchObject({ type: 'error', code: 'unavailable' });
    expect(msgs.at(-1)).toMatchObject({ lastAgentMessage: null });
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'recovered' }] });
    expect(shape(await events.until('turn_complete'))).toContain('agent_message');
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
    const history = await collectHistory(h.store.loadHistory({ threadId: session.threadId }));
    expect(lineKinds(history)).toEqual([
      'session_meta',
      'event_msg:task_started',
      'turn_context',
      'response_item:message:user',
      'event_msg:user_message',
      'event_msg:token_count',
      'event_msg:task_complete',
      ...TURN_LINES,
    ]);
    expect(history[6]?.payload).toMatchObject({ type: 'task_complete', last_agent_message: null });
  });

  it('records text and images in the user message', async () => {
    const { h, session, events } = await start();
    const dir = await mkdtemp(path.join(tmpdir(), 'skein-img-'));
    try {
      const png = path.join(dir, 'shot.png');
      await writeFile(png, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      session.submit({
        type: 'user_turn',
        items: [
          { type: 'text', text: 'look at these' },
          { type: 'image', imageUrl: 'https://example.com/a.png' },
          { type: 'local_image', path: png },
        ],
      });
      await events.until('turn_complete');
      session.submit({ type: 'shutdown' });
      await events.until('shutdown_complete');
      const history = await collectHistory(h.store.loadHistory({ threadId: session.threadId }));
      const user = history.find((i) => i.type === 'response_item') as RolloutItem;
      expect(user.payload).toMatchObject({
        role: 'user',
        content: [
          { type: 'input_text', text: 'look at these' },
          { type: 'input_image', image_url: 'https://example.com/a.png' },
          {
            type: 'input_image',
            image_url: `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64')}`,
          },
        ],
      });
      const event = history.find((i) => isObject(i.payload) && i.payload.type === 'user_message');
      expect(event?.payload).toMatchObject({
        message: 'look at these',
        images: ['https://example.com/a.png'],
        local_images: [png],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sets a name, and refuses ops after shutdown', async () => {
    const { h, session, events } = await start();
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'name me' }] });
    session.submit({ type: 'set_name', name: 'Named thread' });
    const msgs = await events.until('thread_name_updated');
    expect(msgs.at(-1)).toMatchObject({ name: 'Named thread' });
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
    await session.done;
    expect((await h.store.readThread({ threadId: session.threadId })).name).toBe('Named thread');
    let err: unknown;
    try {
      session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'too late' }] });
    } catch (e) {
      err = e;
    }
    expect(isThreadStoreError(err, 'invalid_request')).toBe(true);
  });

  it('an interrupt submitted before a queued turn starts cancels it without recording anything', async () => {
    const { h, session, events } = await start();
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'never runs' }] });
    session.submit({ type: 'interrupt' });
    const msgs = await events.until('turn_aborted');
    expect(msgs).toEqual([{ type: 'turn_aborted', turnId: null, reason: 'interrupted' }]);
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
    expect(
      isThreadStoreError(
        await h.store.readThread({ threadId: session.threadId }).catch((e: unknown) => e),
        'not_found',
      ),
    ).toBe(true);
  });

  it('an ephemeral session never touches the store and is readable while loaded', async () => {
    const { h, session, events } = await start({}, { ephemeral: true });
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'off the record' }] });
    await events.until('turn_complete');
    const thread = await session.readThread({ includeHistory: true });
    expect(thread.preview).toBe('off the record');
    expect(thread.rolloutPath).toBeNull();
    expect(lineKinds(await collectHistory(thread.history))).toEqual(['session_meta', ...TURN_LINES]);
    expect(await session.live.localRolloutPath()).toBeNull();
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
    expect((await h.store.listThreads({ modelProviders: [] })).items).toHaveLength(0);
    expect(
      isThreadStoreError(
        await h.store.readThread({ threadId: session.threadId }).catch((e: unknown) => e),
        'not_found',
      ),
    ).toBe(true);
  });

  it('a resumed session continues the conversation after the stored history', async () => {
    const { h, session, events } = await start({ reply: (p) => `echo: ${p}` });
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: 'first' }] });
    await events.until('turn_complete');
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');

    const seenInputs: number[] = [];
    const model = new EchoModelClient({ provider: 'openai', model: 'echo-1' });
    const inner = model.stream.bind(model);
    model.stream = (req) => {
      seenInputs.push(req.input.length);
      return inner(req);
    };
    const resumed = await Session.resume({ store: h.store, model, threadId: session.threadId });
    expect(resumed.cwd).toBe(h.cwd);
    const ev2 = new EventReader(resumed);
    resumed.submit({ type: 'user_turn', items: [{ type: 'text', text: 'second' }] });
    await ev2.until('turn_complete');
    resumed.submit({ type: 'shutdown' });
    await ev2.until('shutdown_complete');
    // user + assistant from turn 1, then the new user message.
    expect(seenInputs).toEqual([3]);
    const history = await collectHistory(h.store.loadHistory({ threadId: session.threadId }));
    expect(lineKinds(history)).toEqual(['session_meta', ...TURN_LINES, ...TURN_LINES]);
    const thread = await h.store.readThread({ threadId: session.threadId });
    expect(thread.preview).toBe('first');
  });
});

describe('Session failures', () => {
  it('reports a store that refuses the history as an error and still ends the turn', async () => {
    const { InMemoryThreadStore } = await import('@skein/thread-store-api');
    const store = new InMemoryThreadStore();
    const session = await Session.start({ store, model: new EchoModelClient(), cwd: '/work/proj' });
    const events = new EventReader(session);
    await store.close();
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: '<b>bold</b> prompt' }] });
    const msgs = await events.until('turn_complete');
    expect(shape(msgs)).toEqual(['turn_started', 'error', 'turn_complete']);
    expect(msgs[1]).toMatchObject({ type: 'error', code: 'invalid_request' });
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
  });

  it('rejects malformed options and ops with invalid_request', async () => {
    const { InMemoryThreadStore } = await import('@skein/thread-store-api');
    for (const options of [
      null,
      {},
      { store: new InMemoryThreadStore(), model: {}, cwd: '/p' },
      { store: new InMemoryThreadStore(), model: new EchoModelClient() },
    ]) {
      const err = await Session.start(options as never).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isThreadStoreError(err, 'invalid_request'), JSON.stringify(options)).toBe(true);
    }
    const session = await Session.start({
      store: new InMemoryThreadStore(),
      model: new EchoModelClient(),
      cwd: '/work/proj',
    });
    const bad: unknown[] = [
      null,
      { type: 'nope' },
      { type: 'user_turn', items: [] },
      { type: 'user_turn', items: [{ type: 'image', imageUrl: '' }] },
      { type: 'set_name', name: '   ' },
    ];
    for (const op of bad) {
      let err: unknown;
      try {
        session.submit(op as never);
      } catch (e) {
        err = e;
      }
      expect(isThreadStoreError(err, 'invalid_request'), JSON.stringify(op)).toBe(true);
    }
    const events = new EventReader(session);
    session.submit({ type: 'user_turn', items: [{ type: 'text', text: '<b>bold</b> prompt' }] });
    const msgs = await events.until('turn_complete');
    expect(msgs.find((m) => m.type === 'agent_message')).toMatchObject({ message: 'echo: <b>bold</b> prompt' });
    session.submit({ type: 'shutdown' });
    await events.until('shutdown_complete');
  });
});
