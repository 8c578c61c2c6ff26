import { describe, expect, it } from 'vitest';
import { applyGitPatch, applyPatch, isThreadStoreError, mergePatches, validatePatch } from '../src/index.js';
import { isEmptyPatch } from '../src/patch.js';
import type { ThreadMetadataPatch } from '../src/index.js';
import { thread } from './helpers.js';

function invalid(patch: unknown): void {
  let caught: unknown;
  try {
    validatePatch(patch as ThreadMetadataPatch);
  } catch (e) {
    caught = e;
  }
  expect(isThreadStoreError(caught, 'invalid_request'), JSON.stringify(patch)).toBe(true);
}

describe('metadata patches', () => {
  it('three states: undefined leaves, null clears, a value sets', () => {
    const t = thread({ name: 'old', model: 'm1', reasoningEffort: 'high' });
    const out = applyPatch(t, { name: undefined, model: null, reasoningEffort: 'low' });
    expect(out.name).toBe('old');
    expect(out.model).toBeNull();
    expect(out.reasoningEffort).toBe('low');
    expect(applyPatch(t, {})).toEqual(t);
  });

  it('does not change the thread it is given', () => {
    const t = thread();
    const copy = structuredClone(t);
    applyPatch(t, { name: 'n', gitInfo: { sha: 'a' }, advanceRecencyAt: new Date(Date.UTC(2030, 0, 1)) });
    expect(t).toEqual(copy);
  });

  it('preview, cwd and cliVersion clear to the empty string', () => {
    const out = applyPatch(thread(), { preview: null, cwd: null, cliVersion: null });
    expect(out).toMatchObject({ preview: '', cwd: '', cliVersion: '' });
  });

  it('sets every kind of field', () => {
    const usage = { inputTokens: 1, cachedInputTokens: 2, outputTokens: 3, reasoningOutputTokens: 4, totalTokens: 10 };
    const out = applyPatch(thread(), {
      modelProvider: 'p',
      createdAt: new Date(5),
      updatedAt: new Date(6),
      source: { kind: 'exec' },
      threadSource: 'user',
      agentNickname: 'n',
      agentRole: 'r',
      agentPath: 'a/b',
      approvalMode: 'never',
      sandboxPolicy: { mode: 'read-only' },
      tokenUsage: usage,
      memoryMode: 'disabled',
      historyMode: 'paginated',
      firstUserMessage: 'first',
    });
    expect(out).toMatchObject({
      modelProvider: 'p',
      createdAt: new Date(5),
      updatedAt: new Date(6),
      source: { kind: 'exec' },
      threadSource: 'user',
      agentNickname: 'n',
      agentRole: 'r',
      agentPath: 'a/b',
      approvalMode: 'never',
      sandboxPolicy: { mode: 'read-only' },
      tokenUsage: usage,
      memoryMode: 'disabled',
      historyMode: 'paginated',
      firstUserMessage: 'first',
    });
    expect(applyPatch(thread({ tokenUsage: usage }), { tokenUsage: null }).tokenUsage).toBeNull();
    expect(applyPatch(thread({ sandboxPolicy: { a: 1 } }), { sandboxPolicy: null }).sandboxPolicy).toBeNull();
  });

  it('git info merges field by field; null clears a field or the whole info', () => {
    const start = { sha: 'a', branch: 'main', originUrl: 'u' };
    expect(applyGitPatch(start, { branch: 'dev' })).toEqual({ sha: 'a', branch: 'dev', originUrl: 'u' });
    expect(applyGitPatch(start, { sha: null })).toEqual({ sha: null, branch: 'main', originUrl: 'u' });
    expect(applyGitPatch(start, null)).toBeNull();
    expect(applyGitPatch(start, undefined)).toBe(start);
    expect(applyGitPatch(null, { sha: 'b' })).toEqual({ sha: 'b', branch: null, originUrl: null });
    expect(applyGitPatch({ sha: 'a', branch: null, originUrl: null }, { sha: null })).toBeNull();
    expect(applyPatch(thread({ gitInfo: start }), { gitInfo: { originUrl: null } }).gitInfo).toEqual({
      sha: 'a',
      branch: 'main',
      originUrl: null,
    });
  });

  it('advanceRecencyAt only moves recency forward', () => {
    const t = thread({ recencyAt: new Date(1000) });
    expect(applyPatch(t, { advanceRecencyAt: new Date(2000) }).recencyAt.getTime()).toBe(2000);
    expect(applyPatch(t, { advanceRecencyAt: new Date(500) }).recencyAt.getTime()).toBe(1000);
    expect(applyPatch(t, { advanceRecencyAt: null }).recencyAt.getTime()).toBe(1000);
  });

  it('a title distinct from the first message becomes the name when none is set', () => {
    const t = thread({ firstUserMessage: 'fix it', preview: 'fix it' });
    expect(applyPatch(t, { title: 'Fix the parser' }).name).toBe('Fix the parser');
    expect(applyPatch(t, { title: ' fix it ' }).name).toBeNull();
    expect(applyPatch(thread({ name: 'mine' }), { title: 'other' }).name).toBe('mine');
    expect(applyPatch(t, { title: 'T', name: null }).name).toBeNull();
    expect(applyPatch(t, { title: '   ' }).name).toBeNull();
  });

  it('mergePatches: later fields win, git merges per field, recency keeps the max', () => {
    const merged = mergePatches(
      { name: 'a', model: 'm', gitInfo: { sha: 's', branch: 'b' }, advanceRecencyAt: new Date(30) },
      { name: null, gitInfo: { branch: 'c' }, advanceRecencyAt: new Date(20), model: undefined },
    );
    expect(merged).toEqual({
      name: null,
      model: 'm',
      gitInfo: { sha: 's', branch: 'c' },
      advanceRecencyAt: new Date(30),
    });
    expect(mergePatches({ gitInfo: { sha: 's' } }, { gitInfo: null }).gitInfo).toBeNull();
    expect(mergePatches({ gitInfo: null }, { gitInfo: { sha: 'x' } }).gitInfo).toEqual({ sha: 'x' });
    expect(mergePatches({}, { advanceRecencyAt: new Date(5) }).advanceRecencyAt).toEqual(new Date(5));
    expect(mergePatches({ advanceRecencyAt: new Date(5) }, { advanceRecencyAt: null }).advanceRecencyAt).toEqual(
      new Date(5),
    );
  });

  it('applying merged patches equals applying them one after another', () => {
    const t = thread({ gitInfo: { sha: 'x', branch: 'y', originUrl: 'z' } });
    const patches: ThreadMetadataPatch[] = [
      { name: 'one', gitInfo: { sha: null }, advanceRecencyAt: new Date(Date.UTC(2025, 0, 1)) },
      { model: null, gitInfo: { branch: 'dev' }, advanceRecencyAt: new Date(Date.UTC(2024, 6, 1)) },
      { name: null, preview: 'p', advanceRecencyAt: null },
    ];
    const sequential = patches.reduce((acc, p) => applyPatch(acc, p), t);
    const merged = applyPatch(
      t,
      patches.reduce((acc, p) => mergePatches(acc, p), {} as ThreadMetadataPatch),
    );
    expect(merged).toEqual(sequential);
  });

  it('isEmptyPatch is true only when every field is undefined', () => {
    expect(isEmptyPatch({})).toBe(true);
    expect(isEmptyPatch({ name: undefined })).toBe(true);
    expect(isEmptyPatch({ name: null })).toBe(false);
  });

  it('validatePatch accepts good patches', () => {
    validatePatch({});
    validatePatch({
      name: 'n',
      model: null,
      createdAt: new Date(),
      gitInfo: { sha: null },
      memoryMode: 'disabled',
      historyMode: 'legacy',
    });
  });

  it('validatePatch rejects wrong shapes, saying which field', () => {
    invalid(null);
    invalid('name');
    invalid({ bogus: 1 });
    for (const k of ['modelProvider', 'createdAt', 'updatedAt', 'source', 'historyMode', 'memoryMode'])
      invalid({ [k]: null });
    invalid({ name: 5 });
    invalid({ model: {} });
    invalid({ createdAt: '2024-01-01' });
    invalid({ updatedAt: new Date('x') });
    invalid({ advanceRecencyAt: 5 });
    invalid({ modelProvider: '' });
    invalid({ memoryMode: 'maybe' });
    invalid({ historyMode: 'chunked' });
    invalid({ name: '  ' });
    try {
      validatePatch({ bogus: 1 } as ThreadMetadataPatch);
    } catch (e) {
      expect((e as Error).message).toContain('bogus');
    }
  });
});
