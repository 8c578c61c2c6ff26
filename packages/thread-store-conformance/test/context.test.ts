import { InMemoryThreadStore } from '@skein/thread-store-api';
import type { ThreadStore } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import type { ThreadStoreHarness } from '../src/index.js';
import { SuiteContext } from '../src/internal/context.js';

/** A harness that records what the suite asks of it. */
function recordingHarness(): { harness: ThreadStoreHarness; calls: string[]; closed: Set<ThreadStore> } {
  const calls: string[] = [];
  const closed = new Set<ThreadStore>();
  const make = (label: string, storage?: InMemoryThreadStore['storage']): InMemoryThreadStore => {
    const store = new InMemoryThreadStore(storage ? { storage } : {});
    const close = store.close.bind(store);
    store.close = async () => {
      calls.push(`close ${label}`);
      closed.add(store);
      await close();
    };
    return store;
  };
  const harness: ThreadStoreHarness = {
    name: 'recording',
    capabilities: { reopen: true, sharedStorage: true },
    create: async () => {
      calls.push('create');
      return make('primary');
    },
    reopen: async (store) => {
      calls.push(`reopen (old closed: ${closed.has(store)})`);
      return make('reopened', (store as InMemoryThreadStore).storage);
    },
    second: async (store) => {
      calls.push('second');
      return make('second', (store as InMemoryThreadStore).storage);
    },
    destroy: async (store) => {
      calls.push(`destroy (closed: ${closed.has(store)})`);
    },
  };
  return { harness, calls, closed };
}

describe('the suite’s per-test context', () => {
  it('creates a store, closes the old one before reopen, and closes everything before destroy', async () => {
    const { harness, calls } = recordingHarness();
    const ctx = new SuiteContext(harness);
    await ctx.setUp();
    const first = ctx.store;
    await ctx.second();
    const reopened = await ctx.reopen();
    expect(reopened).not.toBe(first);
    expect(ctx.store).toBe(reopened);
    await ctx.tearDown();
    expect(calls).toEqual([
      'create',
      'second',
      'close primary',
      'reopen (old closed: true)',
      'close reopened',
      'close second',
      'close primary',
      'destroy (closed: true)',
    ]);
    expect(() => ctx.store).toThrow(/no store/);
  });

  it('uses the harness default provider, else openai', () => {
    const { harness } = recordingHarness();
    expect(new SuiteContext(harness).provider).toBe('openai');
    expect(new SuiteContext({ ...harness, defaultModelProvider: 'acme' }).provider).toBe('acme');
  });

  it('says clearly when a group needs reopen or second and the harness has none', async () => {
    const ctx = new SuiteContext({ name: 'bare', capabilities: {}, create: async () => new InMemoryThreadStore() });
    await ctx.setUp();
    await expect(ctx.reopen()).rejects.toThrow(/no reopen/);
    await expect(ctx.second()).rejects.toThrow(/no second/);
    await ctx.tearDown();
  });

  it('fails the tear-down when a store cannot close, after destroying the storage', async () => {
    const destroyed: string[] = [];
    const ctx = new SuiteContext({
      name: 'failing close',
      capabilities: {},
      create: async () => {
        const store = new InMemoryThreadStore();
        store.close = () => Promise.reject(new Error('disk gone'));
        return store;
      },
      destroy: async () => {
        destroyed.push('destroy');
      },
    });
    await ctx.setUp();
    await expect(ctx.tearDown()).rejects.toThrow(/close\(\) failed in tear-down: Error: disk gone/);
    expect(destroyed).toEqual(['destroy']);
  });
});
