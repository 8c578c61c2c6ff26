/**
 * How fast the thread browser shows things, in Debian's Chromium against a real `skein serve`:
 *   - the thread list's first rows after a page load, on a home of N synthetic threads (100 000);
 *   - the first turns of a 100 MB thread after a page load;
 *   - live update latency: from a writer's flushed append (through the server) to the text on
 *     the open thread's page.
 * The homes come from tools/bench (cached in --dir). The server indexes the home before the first
 * measurement (that cold index is the local store's own figure, in BENCHMARKS.md's main table).
 *
 *   node --import tsx packages/web/bench/page-bench.ts [--dir DIR] [--threads 100000] [--mb 100] [--runs 7] [--save]
 *
 * `--save` keeps the table in tools/bench/results.json and BENCHMARKS.md.
 */
import { execFileSync } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { ensureBigThread, ensureHome } from '../../../tools/bench/homes.js';
import { machineLine } from '../../../tools/bench/machine.js';
import { extraSection, saveExtraSection } from '../../../tools/bench/report.js';
import { launchChromium } from '../test/helpers/browser.js';
import { skeinServe } from '../test/helpers/serve.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : process.argv[i + 1]!;
};
const dir = arg('dir', path.join(tmpdir(), 'skein-web-bench'));
const threads = Number(arg('threads', '100000'));
const mb = Number(arg('mb', '100'));
const runs = Number(arg('runs', '7'));

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const summary = (xs: number[]): string => `p50 ${pct(xs, 50).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;

const loadBefore = loadavg()[0] ?? 0;
const browser = await launchChromium();

/**
 * Milliseconds from navigation start until `selector` is in the page and the frame after it is
 * drawn, for a fresh page each run. The page records the time itself (a MutationObserver and the
 * next animation frame), so the harness's own polling is not counted.
 */
async function shown(url: string, selector: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    // Plain JavaScript: a function here would be compiled with helpers the page does not have.
    await page.addInitScript({
      content: `(() => {
        const sel = ${JSON.stringify(selector)};
        const obs = new MutationObserver(() => {
          if (window.__shownAt !== undefined || !document.querySelector(sel)) return;
          window.__shownAt = -1;
          obs.disconnect();
          requestAnimationFrame(() => { window.__shownAt = performance.now(); });
        });
        obs.observe(document, { childList: true, subtree: true });
      })();`,
    });
    await page.goto(url, { waitUntil: 'commit' });
    await page.waitForSelector(selector, { timeout: 120_000 });
    const at = await page.waitForFunction(() => {
      const v = (window as unknown as { __shownAt?: number }).__shownAt;
      return v !== undefined && v >= 0 ? v : null;
    });
    out.push((await at.jsonValue()) as number);
    await ctx.close();
  }
  return out;
}

const home = ensureHome(dir, threads, 42);
let server = await skeinServe(['--home', home.dir]);
/**
 * A listing the page makes (every provider, by update time): on a home never indexed it waits for
 * the full index (a first page newest-created first would not), retried while the busy server
 * misses pings.
 */
async function warmUp(url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const store = new RemoteThreadStore({ baseUrl: url, timeoutMs: 600_000 });
    try {
      await store.listThreads({ modelProviders: [], sortKey: 'updatedAt' });
      return;
    } catch (e) {
      if (attempt >= 20) throw e;
      process.stderr.write(`warm-up: ${(e as Error).message}; retrying\n`);
    } finally {
      await store.close();
    }
  }
}
const t0 = performance.now();
await warmUp(server.url);
process.stderr.write(`indexed ${threads} threads in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
const list = await shown(`${server.url}/`, '.row .title');
process.stderr.write(`list: ${summary(list)}\n`);
await server.stop();

const big = ensureBigThread(dir, mb);
server = await skeinServe(['--home', big.dir]);
await warmUp(server.url);
process.stderr.write(`big thread ${big.id} served\n`);
const first = await shown(`${server.url}/t/${big.id}`, '.turn');
process.stderr.write(`first turns: ${summary(first)}\n`);

// Live updates: a thread written through the server while its page is open.
const writer = new RemoteThreadStore({ baseUrl: server.url });
const { newThreadId } = await import('@skein/thread-store-api');
const threadId = newThreadId();
await writer.createThread({
  threadId,
  source: { kind: 'cli' },
  historyMode: 'legacy',
  metadata: { cwd: '/bench', modelProvider: 'openai' },
});
const msg = (text: string) => ({ type: 'event_msg' as const, payload: { type: 'user_message', message: text } });
await writer.appendItems({ threadId, items: [msg('live bench start')] });
await writer.flushThread(threadId);
const page = await (await browser.newContext()).newPage();
await page.goto(`${server.url}/t/${threadId}`);
await page.waitForSelector('.live.on');
process.stderr.write('live page open\n');
const live: number[] = [];
for (let i = 0; i < runs; i++) {
  const text = `live bench message ${i}`;
  const seen = page.waitForFunction((t) => document.body.innerText.includes(t), text, {
    timeout: 30_000,
    polling: 'raf',
  });
  const start = performance.now();
  await writer.appendItems({ threadId, items: [msg(text)] });
  await writer.flushThread(threadId);
  process.stderr.write(`live ${i}: flushed\n`);
  await seen;
  live.push(performance.now() - start);
  process.stderr.write(`live ${i}: ${live.at(-1)!.toFixed(0)} ms\n`);
}
await writer.shutdownThread(threadId);
await writer.close();
await server.stop();
await browser.close();

const fmt = (ms: number): string => `${Math.round(ms).toLocaleString('en-US')} ms`;
const row = (what: string, xs: number[], target: string): string =>
  `| ${what} | ${fmt(pct(xs, 50))} | ${fmt(Math.max(...xs))} | ${target} |`;
const table = [
  `| Workload | p50 of ${runs} | max of ${runs} | Target |`,
  '| --- | ---: | ---: | --- |',
  row(
    `Thread list: first rows shown after a page load, ${threads.toLocaleString('en-US')} threads (home indexed)`,
    list,
    '≤ 1 s at 100k',
  ),
  row(
    `First turns of a ${mb} MB thread (${big.lines.toLocaleString('en-US')} lines) shown after a page load`,
    first,
    '≤ 500 ms',
  ),
  row("Live update: a writer's flushed append (through the server) to its text on the open page", live, 'within 1 s'),
].join('\n');
const entry = {
  title: "The web page (`skein serve`'s thread browser)",
  date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
  command: `node --import tsx packages/web/bench/page-bench.ts ${process.argv.slice(2).join(' ')}`.trim(),
  load: `${loadBefore.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`,
  machine: machineLine(dir),
  body: `Debian's Chromium (headless, a fresh browser context per run) against a real \`skein serve\`; the time
from navigation start until the element is in the page and the next frame is drawn, recorded by
the page itself (a MutationObserver and \`requestAnimationFrame\`). The live figure is the
\`WatchThread\` poll (every 250 ms) plus one turn-page reload.

${table}`,
};
console.log(extraSection(entry));
if (process.argv.includes('--save')) {
  await saveExtraSection(path.resolve(import.meta.dirname, '../../..'), 'web', entry);
  process.stderr.write('BENCHMARKS.md and tools/bench/results.json updated\n');
}
