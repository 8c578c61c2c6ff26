import { readFileSync } from 'node:fs';
import { newThreadId } from '@skein/thread-store-api';
import { describe, expect, it } from 'vitest';
import { meta, openStore, tmpHome, userMsg, writeRollout } from './helpers/home.js';

/** The byte just after the first `n` lines of a file. */
const endOfLines = (file: string, n: number): number =>
  readFileSync(file, 'utf8').split('\n').slice(0, n).join('\n').length + 1;

describe('content search of a reverted thread', () => {
  it('follows the chain through every older segment, up to each cut, to the first file', async () => {
    const home = tmpHome();
    const T = newThreadId();
    const S1 = newThreadId();
    const S2 = newThreadId();
    const F = newThreadId();
    const dir = 'sessions/2025/10/01';
    const paginated = { history_mode: 'paginated' };
    const first = writeRollout(home, `${dir}/rollout-2025-10-01T12-00-00-${T}.jsonl`, [
      { ...meta(T, paginated), ordinal: 0 },
      { ...userMsg('in the first file'), ordinal: 1 },
      { ...userMsg('reverted by the first revert'), ordinal: 2 },
    ]);
    // The first revert cuts the first file after its line 2; the second cuts the first segment
    // after its line 2: the newest segment's base is the first segment, whose base is the first file.
    const seg1 = writeRollout(home, `${dir}/rollout-2025-10-01T12-01-00-${T}_${S1}.jsonl`, [
      {
        ...meta(
          T,
          {
            ...paginated,
            history_base: { thread_id: T, end_ordinal_exclusive: 2, end_byte_offset: endOfLines(first, 2) },
          },
          '2025-10-01T12:01:00.100Z',
        ),
        ordinal: 2,
      },
      { ...userMsg('in the first segment'), ordinal: 3 },
      { ...userMsg('reverted by the second revert'), ordinal: 4 },
    ]);
    const seg2 = writeRollout(home, `${dir}/rollout-2025-10-01T12-02-00-${T}_${S2}.jsonl`, [
      {
        ...meta(
          T,
          {
            ...paginated,
            history_base: { thread_id: S1, end_ordinal_exclusive: 4, end_byte_offset: endOfLines(seg1, 2) },
          },
          '2025-10-01T12:02:00.100Z',
        ),
        ordinal: 4,
      },
      { ...userMsg('in the newest segment'), ordinal: 5 },
    ]);
    // A fork of the reverted thread names its newest segment.
    writeRollout(home, `${dir}/rollout-2025-10-01T12-03-00-${F}.jsonl`, [
      {
        ...meta(
          F,
          {
            ...paginated,
            forked_from_id: T,
            history_base: { thread_id: S2, end_ordinal_exclusive: 6, end_byte_offset: readFileSync(seg2).length },
          },
          '2025-10-01T12:03:00.100Z',
        ),
        ordinal: 6,
      },
      { ...userMsg('in the fork'), ordinal: 7 },
    ]);
    const store = openStore(home);
    const found = async (term: string): Promise<string[]> =>
      (await store.searchThreads({ searchTerm: term, modelProviders: [] })).items.map((r) => r.thread.threadId).sort();
    const both = [T, F].sort();
    expect(await found('in the first file')).toEqual(both);
    expect(await found('in the first segment')).toEqual(both);
    expect(await found('in the newest segment')).toEqual(both);
    expect(await found('in the fork')).toEqual([F]);
    expect(await found('reverted by the')).toEqual([]);
  });
});
