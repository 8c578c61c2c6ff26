import { afterEach, beforeEach, describe } from 'vitest';
import type { ThreadStoreHarness } from './harness.js';
import { SuiteContext } from './internal/context.js';
import { archiveTests } from './internal/groups/archive.js';
import { badInputTests } from './internal/groups/bad-input.js';
import { countTests } from './internal/groups/count.js';
import { concurrencyTests } from './internal/groups/concurrency.js';
import { durabilityTests } from './internal/groups/durability.js';
import { forkReferenceTests } from './internal/groups/fork-reference.js';
import { lifecycleTests } from './internal/groups/lifecycle.js';
import { limitTests } from './internal/groups/limits.js';
import { listTests } from './internal/groups/list.js';
import { listStartTests } from './internal/groups/list-start.js';
import { patchTests } from './internal/groups/patches.js';
import { readTests } from './internal/groups/read.js';
import { searchTests } from './internal/groups/search.js';
import { segmentTests } from './internal/groups/segments.js';
import { sharedStorageTests } from './internal/groups/shared.js';
import { turnPageTests } from './internal/groups/turns.js';

export type { ConformanceCapabilities, ThreadStoreHarness } from './harness.js';

/**
 * Registers the Skein ThreadStore conformance suite with vitest. Call it at the top level of a
 * test file; every test gets a fresh store from `harness.create()`.
 */
export function describeThreadStoreConformance(harness: ThreadStoreHarness): void {
  describe(`ThreadStore conformance: ${harness.name}`, () => {
    const ctx = new SuiteContext(harness);
    beforeEach(async () => {
      await ctx.setUp();
    });
    afterEach(async () => {
      await ctx.tearDown();
    });
    lifecycleTests(ctx);
    readTests(ctx);
    listTests(ctx);
    listStartTests(ctx);
    countTests(ctx);
    searchTests(ctx);
    patchTests(ctx);
    archiveTests(ctx);
    badInputTests(ctx);
    limitTests(ctx);
    concurrencyTests(ctx);
    durabilityTests(ctx);
    sharedStorageTests(ctx);
    turnPageTests(ctx);
    forkReferenceTests(ctx);
    segmentTests(ctx);
  });
}
