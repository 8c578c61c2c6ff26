import type { ThreadStore } from '@skein/thread-store-api';
import type { ThreadStoreHarness } from '../harness.js';

/** The per-test state every group reads: the store under test and ways to get more. */
export class SuiteContext {
  readonly harness: ThreadStoreHarness;
  readonly provider: string;
  private current: ThreadStore | undefined;
  private opened: ThreadStore[] = [];

  constructor(harness: ThreadStoreHarness) {
    this.harness = harness;
    this.provider = harness.defaultModelProvider ?? 'openai';
  }

  get store(): ThreadStore {
    if (!this.current) throw new Error('conformance suite: no store (create() failed?)');
    return this.current;
  }

  async setUp(): Promise<void> {
    this.opened = [];
    this.current = await this.harness.create();
    this.opened.push(this.current);
  }

  /**
   * Closes every store the test opened (close is idempotent, so one the test closed already
   * closes again without error), then destroys the storage. A failing close fails the test:
   * it would hide a store that cannot release what it holds.
   */
  async tearDown(): Promise<void> {
    const errors: unknown[] = [];
    for (const s of this.opened.reverse()) {
      try {
        await s.close();
      } catch (e) {
        errors.push(e);
      }
    }
    const last = this.current;
    this.opened = [];
    this.current = undefined;
    if (last && this.harness.destroy) await this.harness.destroy(last);
    if (errors.length > 0)
      throw new Error(`conformance suite: close() failed in tear-down: ${errors.map(String).join('; ')}`, {
        cause: errors[0],
      });
  }

  /** Closes the store and opens a new one over the same storage; it becomes `store`. */
  async reopen(): Promise<ThreadStore> {
    if (!this.harness.reopen) throw new Error('conformance suite: the harness has no reopen()');
    const old = this.store;
    await old.close();
    this.current = await this.harness.reopen(old);
    this.opened.push(this.current);
    return this.current;
  }

  /** A second store over the same storage, open at the same time as `store`. */
  async second(): Promise<ThreadStore> {
    if (!this.harness.second) throw new Error('conformance suite: the harness has no second()');
    const other = await this.harness.second(this.store);
    this.opened.push(other);
    return other;
  }
}
