import { statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isThreadStoreError } from '@skein/thread-store-api';
import type { ThreadId } from '@skein/thread-store-api';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

const ID = '0c000000-0000-4000-8000-000000000001' as ThreadId;

describe('dates the file system cannot keep', () => {
  it('an updatedAt past what the home keeps as an mtime is invalid_request, not clamped', async () => {
    const home = tmpHome();
    writeRollout(home, `sessions/2026/01/02/rollout-2026-01-02T10-00-00-${ID}.jsonl`, [meta(ID), userMsg('hi')]);
    const store = openStore(home);
    const before = await store.readThread({ threadId: ID });
    const far = new Date(Date.UTC(3000, 0, 1));
    // What this file system does with such a time (ext4 clamps it to 2446-05-10).
    const probe = path.join(home, 'probe');
    writeFileSync(probe, '');
    utimesSync(probe, far, far);
    const keeps = statSync(probe).mtime.getTime() === far.getTime();
    let code = 'ok';
    try {
      await store.updateThreadMetadata({ threadId: ID, patch: { updatedAt: far } });
    } catch (e) {
      code = isThreadStoreError(e) ? e.code : String(e);
    }
    const after = await store.readThread({ threadId: ID });
    if (keeps) {
      expect(code).toBe('ok');
      expect(after.updatedAt).toEqual(far);
    } else {
      expect(code).toBe('invalid_request');
      expect(after.updatedAt).toEqual(before.updatedAt);
    }
  });
});
