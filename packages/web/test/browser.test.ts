import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ThreadId } from '@skein/thread-store-api';
import { parseThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, OUTPUT_DIR } from './helpers/browser.js';
import type { SeededHome } from './helpers/seed.js';
import { agentMessage, SEARCH_NEEDLE, seedHome, userMessage } from './helpers/seed.js';
import type { Serving } from './helpers/serve.js';
import { skeinServe } from './helpers/serve.js';

const THREADS = 2_000;
// Without Chromium these skip, and CI's skip check fails the run: `.ci/run` installs it.
const noBrowser = !existsSync(CHROMIUM);

let home: string;
let seeded: SeededHome;
let server: Serving;
let browser: Browser;
let context: BrowserContext;
/** Every console error and page error of the run: the page must produce none. */
const pageErrors: string[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'skein-web-'));
  seeded = await seedHome(home, THREADS);
  server = await skeinServe(['--home', home]);
  browser = await launchChromium();
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
}, 600_000);

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function open(path: string, ctx: BrowserContext = context): Promise<Page> {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${path}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${path}: ${m.text()}`);
  });
  await page.goto(new URL(path, server.url).href);
  return page;
}

const shot = (page: Page, name: string): Promise<Buffer> =>
  page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage: false });

/** Scrolls the thread list down until it has loaded its last page. */
async function scrollToEnd(page: Page): Promise<void> {
  const scroller = page.getByTestId('thread-scroller');
  await page.locator('.count', { hasNotText: 'Loading' }).waitFor();
  for (let i = 0; i < 500; i++) {
    if ((await page.locator('.count').textContent())?.includes('end of list')) return;
    await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.waitForTimeout(50);
  }
  throw new Error('the list never reached its end');
}

/** The list's "N threads" line, once it says `pattern`. */
async function countLine(page: Page, pattern: RegExp): Promise<string> {
  const loc = page.locator('.count');
  await page.waitForFunction(
    ([sel, src]) => new RegExp(src!).test(document.querySelector(sel!)?.textContent ?? ''),
    ['.count', pattern.source],
  );
  return (await loc.textContent()) ?? '';
}

describe.skipIf(noBrowser)('the thread browser in a real Chromium against skein serve', () => {
  it('serves the page with a strict Content-Security-Policy and immutable assets', async () => {
    const res = await fetch(new URL('/', server.url));
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    // No inline script: every script element has a src.
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => / src="\/assets\//.test(tag))).toBe(true);
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(new URL(asset, server.url));
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    // A deep link gets the same page; a missing asset is a 404.
    expect((await fetch(new URL(`/t/${seeded.multiTurn}?turn=x`, server.url))).status).toBe(200);
    expect((await fetch(new URL('/assets/nope.js', server.url))).status).toBe(404);
  });

  it('lists threads, newest first, and scrolls (virtualised) to the end of 2,000', async () => {
    const page = await open('/');
    await page.getByText('the newest thread').first().waitFor();
    await shot(page, 'list');
    await scrollToEnd(page);
    // Only a window of rows is in the DOM, however many are loaded.
    expect(await countLine(page, /end of list/)).toBe(`${THREADS} threads (end of list)`);
    expect(await page.locator('.row').count()).toBeLessThan(100);
    // The oldest thread is the last row.
    await page.getByTestId('thread-scroller').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.getByText('question number 0', { exact: true }).waitFor();
    await page.close();
  });

  it('filters by provider, cwd, source, name and sorts oldest first, each a deep link', async () => {
    const page = await open('/?provider=echo&cwd=/work/project-1');
    await scrollToEnd(page);
    const metas = await page.locator('.row .meta').allTextContents();
    expect(metas.length).toBeGreaterThan(0);
    for (const m of metas) expect(m).toMatch(/\/work\/project-1.*echo/);
    await page.close();

    const sorted = await open('/?sort=created&dir=asc');
    await sorted.locator('.row').first().waitFor();
    expect(await sorted.locator('.row .title').first().textContent()).toBe('question number 0');
    // Changing a filter in the form updates the URL and the rows.
    await sorted.getByLabel('Source').selectOption('vscode');
    await sorted.waitForURL(/source=vscode/);
    await countLine(sorted, /thread/);
    for (const m of await sorted.locator('.row .meta').allTextContents()) expect(m).toContain('vscode');
    await sorted.close();

    // The name filter, typed into the form.
    const named = await open('/');
    await named.getByLabel('Name or preview').fill('to be exported');
    await named.waitForURL(/q=to\+be\+exported/);
    await countLine(named, /^1 thread \(end of list\)$/);
    expect(await named.locator('.row .title').allTextContents()).toEqual(['to be exported']);
    await named.close();
  });

  it('moves with j/k, opens with Enter, focuses search with /', async () => {
    const page = await open('/');
    await page.locator('.row').first().waitFor();
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.locator('.row.selected').waitFor();
    const selected = await page.locator('.row.selected .title').textContent();
    expect(selected).toBe(await page.locator('.row .title').first().textContent());
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/t\//);
    await page.locator('.thread-head h1').waitFor();
    expect(await page.locator('.thread-head h1').textContent()).toBe(selected);
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Search thread contents',
    );
    await page.close();
  });

  it('searches contents with highlighted snippets and jumps to the matching turn', async () => {
    const page = await open('/');
    await page.locator('.row').first().waitFor();
    await page.keyboard.press('/');
    await page.keyboard.type(SEARCH_NEEDLE);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?q=/);
    await page.locator('.results mark').first().waitFor();
    expect((await page.locator('.results mark').first().textContent())?.toLowerCase()).toBe(SEARCH_NEEDLE);
    await shot(page, 'search');
    await page.locator('.results a').first().click();
    await page.waitForURL(new RegExp(`/t/${seeded.multiTurn}`));
    const target = page.locator('.turn.target');
    await target.waitFor();
    expect(await target.getAttribute('aria-label')).toBe('Turn 7');
    expect(await target.textContent()).toContain(SEARCH_NEEDLE);
    await page.close();
  });

  it('opens a thread with its turns, Markdown rendered, loading more turns on scroll', async () => {
    const page = await open(`/t/${seeded.multiTurn}`);
    await page.locator('.turn').first().waitFor();
    // The first turns are drawn in the first frame, the rest of the page right after it.
    await expect.poll(() => page.locator('.turn').count()).toBe(20);
    expect(await page.locator('.turn').first().locator('strong').first().textContent()).toBe('bold');
    await page.locator('.end').scrollIntoViewIfNeeded();
    await page.getByText('30 turns').waitFor();
    expect(await page.locator('.turn').count()).toBe(30);
    await shot(page, 'thread');
    await page.close();
  });

  it("asks for a thread's data once, before React's code is evaluated", async () => {
    const page = await open(`/t/${seeded.multiTurn}`);
    await page.locator('.turn').first().waitFor();
    const timing = await page.evaluate(() => ({
      start: performance.getEntriesByName('skein:start')[0]?.startTime ?? null,
      calls: performance
        .getEntriesByType('resource')
        .filter((e) => /\/(ReadThread|ListTurns)$/.test(e.name))
        .map((e) => ({ name: e.name.replace(/^.*\//, ''), at: e.startTime })),
    }));
    expect(timing.start).not.toBeNull();
    // One call each: the thread view's queries took over the calls the entry started.
    expect(timing.calls.map((c) => c.name).sort()).toEqual(['ListTurns', 'ReadThread']);
    for (const call of timing.calls) expect(call.at).toBeLessThan(timing.start!);
    await page.close();
  });

  /** Forks the many-turn thread after turn 3 from its page; the fork's id, once the page shows it. */
  async function forkAfterTurn3(page: Page): Promise<ThreadId> {
    await page.locator('.turn').first().waitFor();
    await page.getByRole('button', { name: 'Fork here, after turn 3', exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/t/') && !u.pathname.includes(seeded.multiTurn));
    await page.locator('.thread-head h1').waitFor();
    return parseThreadId(decodeURIComponent(new URL(page.url()).pathname.slice(3)));
  }

  it('forks a thread after a turn and opens the fork', async () => {
    const page = await open(`/t/${seeded.multiTurn}`);
    const forkId = await forkAfterTurn3(page);
    expect(await page.locator('.thread-head h1').textContent()).toBe('turn 1 asks');
    const store = new RemoteThreadStore({ baseUrl: server.url });
    try {
      expect((await store.readThread({ threadId: forkId })).forkedFromId).toBe(seeded.multiTurn);
      const history: string[] = [];
      for await (const item of store.loadHistory({ threadId: forkId })) history.push(JSON.stringify(item));
      const text = history.join('\n');
      expect(text).toContain('turn 3 asks');
      expect(text).not.toContain('turn 4 asks');
    } finally {
      await store.close();
    }
    await page.close();
  });

  // The seeded threads are legacy (their user messages start the turns): the fork is a legacy
  // copy, so its page shows the three turns it keeps.
  it('shows the turns of a fork of a legacy thread', async () => {
    const page = await open(`/t/${seeded.multiTurn}`);
    await forkAfterTurn3(page);
    try {
      await page.getByText('3 turns').waitFor({ timeout: 10_000 });
    } finally {
      await page.close();
    }
  });

  it('renames, archives and unarchives a thread', async () => {
    const id = seeded.named.rename;
    const page = await open(`/t/${id}`);
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('renamed in the browser');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('.thread-head h1', { hasText: 'renamed in the browser' }).waitFor();
    const store = new RemoteThreadStore({ baseUrl: server.url });
    try {
      expect((await store.readThread({ threadId: id })).name).toBe('renamed in the browser');
      await page.getByRole('button', { name: 'Archive', exact: true }).click();
      await page.getByRole('button', { name: 'Unarchive', exact: true }).waitFor();
      expect((await store.readThread({ threadId: id, includeArchived: true })).archivedAt).not.toBeNull();
      const archived = await open('/?archived=1');
      await archived.getByText('renamed in the browser').waitFor();
      await archived.close();
      await page.getByRole('button', { name: 'Unarchive', exact: true }).click();
      await page.getByRole('button', { name: 'Archive', exact: true }).waitFor();
      expect((await store.readThread({ threadId: id })).archivedAt).toBeNull();
    } finally {
      await store.close();
    }
    await page.close();
  });

  it('deletes a thread only after confirmation', async () => {
    const id = seeded.named.remove;
    const page = await open(`/t/${id}`);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL((u) => u.pathname === '/');
    const store = new RemoteThreadStore({ baseUrl: server.url });
    try {
      await expect(store.readThread({ threadId: id, includeArchived: true })).rejects.toMatchObject({
        code: 'not_found',
      });
    } finally {
      await store.close();
    }
    const gone = await open(`/t/${id}`);
    await gone.getByText(`No thread ${id}.`).waitFor();
    await gone.close();
    // The browser logs the API's 404 answers for the deleted thread: expected here.
    const expected = pageErrors.filter((e) => e.startsWith(`/t/${id}: Failed to load resource`));
    expect(expected.length).toBeGreaterThan(0);
    for (const e of expected) pageErrors.splice(pageErrors.indexOf(e), 1);
    await page.close();
  });

  it('exports Markdown and JSONL, and copies the resume command', async () => {
    const id = seeded.named.export;
    const ctx = await browser.newContext({ acceptDownloads: true });
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await open(`/t/${id}`, ctx);
    await page.locator('.turn').first().waitFor();
    const [md] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export Markdown' }).click(),
    ]);
    const mdText = readFileSync((await md.path())!, 'utf8');
    expect(md.suggestedFilename()).toBe(`${id}.md`);
    expect(mdText).toContain('# to be exported');
    expect(mdText).toMatch(/\*\*User:\*\*\n\nexport me/);
    expect(mdText).toMatch(/\*\*Assistant:\*\*\n\nexported \*answer\*/);
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export JSONL' }).click(),
    ]);
    const lines = readFileSync((await jsonl.path())!, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]!.type).toBe('session_meta');
    expect(lines.some((l) => JSON.stringify(l).includes('export me'))).toBe(true);
    await page.getByRole('button', { name: 'Copy codex resume' }).click();
    await page.getByText('Copied the resume command').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`codex resume ${id}`);
    await ctx.close();
  });

  it('shows what a writer appends while the thread is open (server-streamed)', async () => {
    const id = seeded.named.live;
    const page = await open(`/t/${id}`);
    await page.locator('.live.on').waitFor();
    const store = new RemoteThreadStore({ baseUrl: server.url });
    try {
      await store.resumeThread({ threadId: id });
      await store.appendItems({
        threadId: id,
        items: [userMessage('appended while watched'), agentMessage('live reply')],
      });
      await store.flushThread(id);
      await page.getByText('appended while watched').waitFor({ timeout: 20_000 });
      await page.getByText('live reply').waitFor();
      await store.shutdownThread(id);
    } finally {
      await store.close();
    }
    await page.close();
  });

  it('renders the XSS corpus inert: nothing runs, no dangerous link or element appears', async () => {
    const page = await open(`/t/${seeded.xss}`);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.locator('.turn').first().waitFor();
    await page.locator('.end').scrollIntoViewIfNeeded();
    await page.getByText('12 turns').waitFor();
    // Open every collapsed part, so nothing hides a payload.
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => (d.open = true)));
    const report = await page.evaluate(() => ({
      xss: (window as { __xss?: unknown }).__xss,
      scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
      bad: [...document.querySelectorAll('main iframe, main svg, main img, main style, main details[ontoggle]')].length,
      handlers: [...document.querySelectorAll('main *')].filter((e) =>
        [...e.attributes].some((a) => a.name.startsWith('on')),
      ).length,
      hrefs: [...document.querySelectorAll('main a')].map((a) => a.getAttribute('href') ?? ''),
      hidden: getComputedStyle(document.body).display,
    }));
    expect(report.xss).toBeUndefined();
    expect(report.scripts.every((s) => s?.startsWith('/assets/'))).toBe(true);
    expect(report.bad).toBe(0);
    expect(report.handlers).toBe(0);
    expect(report.hrefs.filter((h) => !/^(https?:|mailto:|\/)/.test(h))).toEqual([]);
    expect(report.hidden).toBe('block');
    // The payloads are there, as text.
    await page.getByText('<script>window.__xss = "script tag"</script>').first().waitFor();
    // Clicking the would-be javascript: link runs nothing either.
    await page.getByText('click me').first().click();
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('has no serious or critical accessibility violations (axe-core), in light and dark, at 360 px', async () => {
    const axeSource = readFileSync(new URL(import.meta.resolve('axe-core/axe.min.js')), 'utf8');
    for (const [path, name] of [
      ['/', 'list'],
      [`/t/${seeded.multiTurn}`, 'thread'],
      [`/search?q=${SEARCH_NEEDLE}`, 'search'],
    ] as const) {
      for (const scheme of ['light', 'dark'] as const) {
        const ctx = await browser.newContext({ colorScheme: scheme, viewport: { width: 360, height: 740 } });
        const page = await open(path, ctx);
        await page.locator('main a, main .turn').first().waitFor();
        // DevTools evaluation is not subject to the page's CSP.
        await page.evaluate(axeSource);
        const violations = await page.evaluate(async () => {
          const axe = (
            window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string }[] }> } }
          ).axe;
          const r = await axe.run();
          return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
        });
        expect([path, scheme, violations]).toEqual([path, scheme, []]);
        // Nothing wider than the screen at 360 px.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
        await shot(page, `${name}-${scheme}-360`);
        await ctx.close();
      }
    }
  });

  it('produced no page errors along the way', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe.skipIf(noBrowser)('the token prompt of a server with --tokens', () => {
  let tokenHome: string;
  let guarded: Serving;
  beforeAll(async () => {
    tokenHome = mkdtempSync(join(tmpdir(), 'skein-web-tokens-'));
    await seedHome(tokenHome, 10);
    const tokens = join(tokenHome, 'tokens.txt');
    writeFileSync(tokens, 'browser-token-0123456789 default\n');
    guarded = await skeinServe(['--home', tokenHome, '--tokens', tokens]);
  });
  afterAll(async () => {
    await guarded?.stop();
    if (tokenHome) rmSync(tokenHome, { recursive: true, force: true });
  });

  it('asks for a token, says when it is wrong, and keeps a right one for the tab only', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(guarded.url);
    const dialog = page.getByRole('dialog');
    await dialog.getByText('This server needs a token').waitFor();
    await shot(page, 'token-prompt');
    await dialog.getByLabel('Token').fill('wrong-token-000000000');
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await dialog.getByText('The server refused that token').waitFor();
    await dialog.getByLabel('Token').fill('browser-token-0123456789');
    await dialog.getByRole('button', { name: 'Connect' }).click();
    await page.getByText('the newest thread').waitFor();
    expect(await dialog.count()).toBe(0);
    expect(await page.evaluate(() => sessionStorage.getItem('skein.token'))).toBe('browser-token-0123456789');
    expect(await page.evaluate(() => localStorage.getItem('skein.token'))).toBeNull();
    // A new tab of the same browser asks again.
    const other = await ctx.newPage();
    await other.goto(guarded.url);
    await other.getByRole('dialog').getByText('This server needs a token').waitFor();
    await ctx.close();
  });
});

describe.skipIf(noBrowser)('stopping skein serve while a page follows a thread', () => {
  it('stops at once: the live stream ends and the browser connection is closed', async () => {
    const stopHome = mkdtempSync(join(tmpdir(), 'skein-web-stop-'));
    try {
      const s = await seedHome(stopHome, 10);
      const live = await skeinServe(['--home', stopHome]);
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${live.url}/t/${s.named.live}`);
      await page.locator('.live.on').waitFor();
      // Without closing the browser's HTTP/1.1 connections the server would wait forever.
      const exited = new Promise<number | null>((resolve) => live.child.once('exit', (code) => resolve(code)));
      live.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await page.locator('.live:not(.on)').waitFor();
      await ctx.close();
    } finally {
      rmSync(stopHome, { recursive: true, force: true });
    }
  });
});
