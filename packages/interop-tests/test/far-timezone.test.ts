import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { newThreadId, parseThreadId, type ThreadStore } from '@skein/thread-store-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AppServerClient,
  assertRunOk,
  defaultReply,
  makeCodexHome,
  MOCK_PROVIDER_ID,
  runCodexExec,
  startMockResponsesServer,
  type AppServerThread,
  type CodexHome,
  type MockResponsesServer,
} from '../src/harness.js';
import { listAllSkein, openSkeinStore, seconds, skeinHistory } from './support/skein.js';
import { turnItems, writeSkeinThread } from './support/skein-writer.js';

const FAR_TZ = 'Pacific/Kiritimati';
const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Writes one thread with LocalThreadStore in a child process whose TZ is far from UTC, the way a
 * Skein process on such a machine would. (TZ is process-wide, so it takes its own process.)
 */
function writeInTimeZone(tz: string, job: Record<string, unknown>): Promise<{ path: string }> {
  const script = `
    import { LocalThreadStore } from '@skein/thread-store-local';
    const job = JSON.parse(process.env.SKEIN_JOB);
    const store = new LocalThreadStore({ home: job.home, defaultModelProvider: job.provider });
    await store.createThread({
      threadId: job.threadId,
      source: { kind: 'cli' },
      createdAt: new Date(job.createdAt),
      metadata: { cwd: job.cwd, modelProvider: job.provider },
    });
    await store.appendItems({ threadId: job.threadId, items: job.items });
    await store.flushThread(job.threadId);
    await store.updateThreadMetadata({
      threadId: job.threadId,
      patch: { preview: job.prompt, firstUserMessage: job.prompt, title: job.prompt },
    });
    await store.shutdownThread(job.threadId);
    const t = await store.readThread({ threadId: job.threadId });
    await store.close();
    process.stdout.write(JSON.stringify({ path: t.rolloutPath }));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: packageDir,
      env: { ...process.env, TZ: tz, SKEIN_JOB: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { path: string });
      else reject(new Error(`the ${tz} writer exited ${code}:\n${err}`));
    });
  });
}

/** `YYYY/MM/DD` and `YYYY-MM-DDThh-mm-ss` of a time, in a time zone. */
function localParts(at: Date, tz: string): { day: string; stamp: string } {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  return {
    day: `${p.year}/${p.month}/${p.day}`,
    stamp: `${p.year}-${p.month}-${p.day}T${p.hour}-${p.minute}-${p.second}`,
  };
}

describe('a thread Skein writes under a far-off time zone', () => {
  let mock: MockResponsesServer;
  let home: CodexHome;
  let store: ThreadStore;
  let cwd: string;
  const farId = newThreadId();
  const farPrompt = 'written by Skein at UTC+14';
  const createdAt = new Date(Date.now() - 60 * 60_000);
  let farPath: string;
  let nearId: string;

  beforeAll(async () => {
    mock = await startMockResponsesServer();
    home = await makeCodexHome(mock.url);
    cwd = path.join(home.path, '..', `${path.basename(home.path)}-work`);
    await mkdir(cwd, { recursive: true });
    // The far-TZ thread is the OLDER one (an hour ago); the UTC one is made now.
    ({ path: farPath } = await writeInTimeZone(FAR_TZ, {
      home: home.path,
      provider: MOCK_PROVIDER_ID,
      threadId: farId,
      cwd,
      createdAt: createdAt.toISOString(),
      prompt: farPrompt,
      items: turnItems(cwd, { prompt: farPrompt }),
    }));
    store = openSkeinStore(home.path);
    nearId = await writeSkeinThread(store, { cwd, turns: [{ prompt: 'written by Skein at UTC' }] });
  });
  afterAll(async () => {
    await store?.close();
    await mock?.close();
    await home?.remove();
  });

  it('is named and filed by local time, as Codex does', () => {
    const { day, stamp } = localParts(createdAt, FAR_TZ);
    expect(farPath).toBe(path.join(home.path, 'sessions', day, `rollout-${stamp}-${farId}.jsonl`));
  });

  it('keeps its true creation time and order in Skein, while Codex’s default listing puts it first', async () => {
    const skein = await listAllSkein(store);
    expect(skein.map((t) => t.threadId)).toEqual([nearId, farId]);
    expect(seconds(skein[1]!.createdAt)).toBe(seconds(createdAt));

    const client = await AppServerClient.start(home);
    try {
      const codex = await client.listAllThreads();
      // Codex 0.169 is wrong: it reads the local-time file name as UTC, 14 h in the future.
      expect(codex.map((t) => t.id)).toEqual([farId, nearId]);
      const read = await client.request<{ thread: AppServerThread }>('thread/read', { threadId: farId });
      expect(read.thread.createdAt).toBe(seconds(createdAt));
      expect(read.thread.preview).toBe(farPrompt);
    } finally {
      await client.close();
    }
  });

  it('is found and resumed by codex exec resume, and Skein reads the new turn', async () => {
    const run = await runCodexExec(home, ['resume', farId, 'resumed by Codex'], { cwd });
    assertRunOk(run);
    expect(run.agentMessages).toEqual([defaultReply('resumed by Codex')]);
    expect((await skeinHistory(store, farId)).user).toEqual([farPrompt, 'resumed by Codex']);
    expect((await store.readThread({ threadId: parseThreadId(farId) })).rolloutPath).toBe(farPath);
  });
});
