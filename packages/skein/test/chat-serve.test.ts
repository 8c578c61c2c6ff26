import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newThreadId } from '@skein/thread-store-api';
import { RemoteThreadStore } from '@skein/thread-store-remote';
import { BIN, cleanEnv, ok, requireBuiltBinary, run, serve } from './cli-harness.js';

const env = cleanEnv();
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

beforeAll(() => requireBuiltBinary());

function emptyHome(): string {
  return mkdtempSync(join(tmpdir(), 'skein-chat-'));
}

function threadIdOf(stdout: string): string {
  const id = new RegExp(`^Thread (${UUID})`, 'm').exec(stdout)?.[1];
  if (!id) throw new Error(`no thread id in:\n${stdout}`);
  return id;
}

describe('chat with the echo model, driven through stdin', () => {
  it('records a thread that threads show prints, and --resume continues it', async () => {
    const home = emptyHome();
    const first = await run(['chat', '--model', 'echo', '--home', home, '--init'], {
      env,
      input: 'hello there\nand a second line\n',
    });
    expect(first.code, first.stderr).toBe(0);
    const id = threadIdOf(first.stdout);
    expect(first.stdout).toContain('echo: hello there');
    expect(first.stdout).toContain('echo: and a second line');
    // The id is printed again at the end, with how to come back.
    expect(first.stdout.trimEnd().split('\n').at(-1)).toContain(id);

    const shown = await ok(['threads', 'show', id, '--home', home], { env });
    expect(shown).toMatch(/^Provider\s+echo$/m);
    expect(shown).toMatch(/^Model\s+echo$/m);
    expect(shown.split('\n').filter((l) => /^(user|assistant): /.test(l))).toEqual([
      'user: hello there',
      'assistant: echo: hello there',
      'user: and a second line',
      'assistant: echo: and a second line',
    ]);

    const again = await run(['chat', '--resume', id.slice(0, 13), '--home', home], { env, input: 'third\n' });
    expect(again.code, again.stderr).toBe(0);
    expect(threadIdOf(again.stdout)).toBe(id);
    const after = await ok(['threads', 'show', id, '--json', '--home', home], { env });
    const texts = (JSON.parse(after) as { messages: { text: string }[] }).messages.map((m) => m.text);
    expect(texts).toEqual([
      'hello there',
      'echo: hello there',
      'and a second line',
      'echo: and a second line',
      'third',
      'echo: third',
    ]);
    expect(await ok(['threads', 'list', '--provider', 'echo', '--home', home], { env })).toContain(id);
  });

  it('an empty input records nothing', async () => {
    const home = emptyHome();
    const r = await run(['chat', '--model', 'echo', '--home', home, '--init'], { env, input: '' });
    expect(r.code).toBe(0);
    const id = threadIdOf(r.stdout);
    const shown = await run(['threads', 'show', id, '--home', home], { env });
    expect(shown.code).toBe(3);
  });

  it('--responses-url needs --model NAME', async () => {
    const r = await run(['chat', '--responses-url', 'http://127.0.0.1:1/v1', '--home', emptyHome()], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--model/);
  });

  it('works through a server too', async () => {
    const home = emptyHome();
    const server = await serve(home, [], env);
    try {
      const r = await run(['chat', '--model', 'echo', '--endpoint', server.url], { env, input: 'over the wire\n' });
      expect(r.code, r.stderr).toBe(0);
      const id = threadIdOf(r.stdout);
      const remote = await ok(['threads', 'show', id, '--endpoint', server.url], { env });
      expect(remote).toContain('assistant: echo: over the wire');
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  });
});

describe('chat: Ctrl-C interrupts a reply', () => {
  it('a slow model is interrupted by SIGINT, the turn is recorded as interrupted, and a second Ctrl-C ends the chat', async () => {
    // A Responses API server that starts a reply and never finishes it.
    const sse = (type: string, body: Record<string, unknown>): string =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
    const model = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('response.created', { response: { id: 'resp_slow' } }));
      res.write(
        sse('response.output_item.added', {
          item: { type: 'message', id: 'msg_slow', role: 'assistant', content: [] },
        }),
      );
      res.write(sse('response.output_text.delta', { item_id: 'msg_slow', delta: 'thinking slowly' }));
    });
    await new Promise<void>((r) => model.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(model.address() as AddressInfo).port}/v1`;
    const home = emptyHome();
    try {
      const chat = spawn(
        process.execPath,
        [BIN, 'chat', '--responses-url', url, '--model', 'slow-model', '--home', home, '--init'],
        {
          env: { ...env, OPENAI_API_KEY: 'test-key' },
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      chat.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      chat.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((r) => chat.on('exit', (code) => r(code)));
      const until = async (pred: () => boolean, what: string): Promise<void> => {
        for (let i = 0; i < 600 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
        if (!pred()) throw new Error(`timed out waiting for ${what}\nstdout: ${out}\nstderr: ${err}`);
      };
      chat.stdin.write('take your time\n');
      await until(() => out.includes('thinking slowly'), 'the first delta');
      chat.kill('SIGINT');
      await until(() => err.includes('(interrupted)'), 'the interruption');
      // A second Ctrl-C (nothing running now) ends the chat, though stdin is still open.
      chat.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(out.trimEnd().split('\n').at(-1)).toMatch(/saved\. Resume with: skein chat --resume/);
      const id = threadIdOf(out);
      const shown = await ok(['threads', 'show', id, '--home', home], { env });
      expect(shown).toContain('user: take your time');
      expect(shown).toContain('── Turn 1 · interrupted ──\nuser: take your time');
      expect(shown).toMatch(/^Model\s+slow-model$/m);
    } finally {
      model.closeAllConnections();
      await new Promise<void>((r) => model.close(() => r()));
    }
  });
});

describe('serve shuts down cleanly', () => {
  it('on SIGTERM it flushes a live thread a client is still writing: nothing is lost', async () => {
    const home = emptyHome();
    const server = await serve(home, [], env);
    // A client appends to a live thread and never flushes: the items sit in the server's writer.
    const client = new RemoteThreadStore({ baseUrl: server.url });
    const threadId = newThreadId();
    await client.createThread({
      threadId,
      source: { kind: 'cli' },
      metadata: { cwd: '/work', modelProvider: 'openai' },
    });
    const text = 'written but never flushed by the client';
    await client.appendItems({
      threadId,
      items: [
        {
          type: 'event_msg',
          payload: { type: 'user_message', message: text, images: [], local_images: [], text_elements: [] },
        },
        { type: 'event_msg', payload: { type: 'agent_message', message: 'and a reply', phase: null } },
      ],
    });

    const exit = await server.stop('SIGTERM');
    await client.close().catch(() => {});
    expect(exit.code, server.output().stderr).toBe(0);
    expect(server.output().stdout).toMatch(/Received SIGTERM/);
    expect(server.output().stdout).toMatch(/Stopped\./);

    const shown = await ok(['threads', 'show', threadId, '--home', home], { env });
    expect(shown).toContain(`user: ${text}`);
    expect(shown).toContain('assistant: and a reply');
  });

  it('SIGINT stops it too', async () => {
    const server = await serve(emptyHome(), [], env);
    const exit = await server.stop('SIGINT');
    expect(exit, JSON.stringify(server.output())).toEqual({ code: 0, signal: null });
    expect(server.output().stdout).toMatch(/Received SIGINT/);
  });

  it('will not listen beyond loopback without tokens', async () => {
    const r = await run(['serve', '--home', emptyHome(), '--host', '0.0.0.0', '--port', '0'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs --tokens FILE/);
  });

  it('a port in use is a clear error', async () => {
    const server = await serve(emptyHome(), [], env);
    try {
      const r = await run(['serve', '--home', emptyHome(), '--port', String(server.port)], { env });
      expect(r.code).not.toBe(0);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/listen/);
    } finally {
      await server.stop();
    }
  });
});
