import { Command } from 'commander';
import type { ModelClient, SessionEvent } from '@skein/core-session';
import { isThreadStoreError, isThreadStoreErrorCode, ThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import type { CodexThread } from '@skein/thread-manager';
import { ExitWith, UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { EXIT_CODES, exitCodeForStoreError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { CODEX_DEFAULT_PROVIDER, readCodexConfig } from '../codex-config.js';
import { normalizeCwd } from '../list-options.js';
import { resolveThread } from '../resolve-thread.js';
import { collect, transcriptOf } from '../transcript.js';
import type { TranscriptEntry } from '../transcript.js';
import { addStoreOptions } from '../store-options.js';
import type { StoreFlags } from '../store-options.js';
import { skeinVersion } from '../version.js';

interface ChatFlags extends StoreFlags {
  resume?: string;
  model?: string;
  responsesUrl?: string;
  apiKeyEnv: string;
  cwd?: string;
  name?: string;
  provider?: string;
}

/** Fails before a thread is started, rather than recording a first turn that cannot run. */
function requireApiKey(variable: string): void {
  const value = process.env[variable];
  if (value === undefined || value === '')
    throw new ThreadStoreError(
      'unauthenticated',
      `no API key: set the environment variable ${variable} (or name another with --api-key-env)`,
    );
}

/** A model server on this machine (Ollama, LM Studio, a mock) usually takes no key. */
function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Builds the model client once the provider to record is known. Flags are checked before the
 * store opens (see `checkModelFlags`), so a bad command line never touches the home.
 */
async function modelClient(flags: ChatFlags, provider: string): Promise<ModelClient> {
  const { EchoModelClient, OpenAIResponsesModelClient } = await import('@skein/core-session');
  if (flags.responsesUrl !== undefined) {
    const url = new URL(flags.responsesUrl);
    const keyless = isLoopback(url);
    if (!keyless) requireApiKey(flags.apiKeyEnv);
    return new OpenAIResponsesModelClient({
      model: flags.model!,
      baseUrl: url.toString().replace(/\/$/, ''),
      apiKeyEnv: flags.apiKeyEnv,
      provider,
      ...(keyless ? { requireApiKey: false } : {}),
    });
  }
  if (flags.model === undefined || flags.model === 'echo') return new EchoModelClient({ provider });
  // A model name alone asks the OpenAI Responses API itself (needs the API key variable).
  requireApiKey(flags.apiKeyEnv);
  return new OpenAIResponsesModelClient({ model: flags.model, apiKeyEnv: flags.apiKeyEnv, provider });
}

function checkModelFlags(flags: ChatFlags): void {
  if (flags.responsesUrl === undefined) {
    if (flags.model !== undefined && flags.model !== 'echo') requireApiKey(flags.apiKeyEnv);
    return;
  }
  if (flags.model === undefined || flags.model === 'echo')
    throw new UsageError('--responses-url needs --model NAME: the model to ask at that server');
  let url: URL;
  try {
    url = new URL(flags.responsesUrl);
  } catch {
    throw new UsageError(`--responses-url must be a URL like http://127.0.0.1:8080/v1, got "${flags.responsesUrl}"`);
  }
  if (!isLoopback(url)) requireApiKey(flags.apiKeyEnv);
}

/**
 * The provider recorded on a new thread: `--provider`, else the home's configured provider for a
 * real model (what Codex would record there), else `echo` for the offline echo model.
 */
function providerFor(flags: ChatFlags, home: string | null): string {
  if (flags.provider !== undefined) return flags.provider;
  const echo = flags.responsesUrl === undefined && (flags.model === undefined || flags.model === 'echo');
  if (echo) return 'echo';
  return home !== null ? readCodexConfig(home).modelProvider : CODEX_DEFAULT_PROVIDER;
}

/** Routes the session's single event stream to whoever waits for a submission to finish. */
class EventPump {
  private readonly waiters = new Map<string, (msg: SessionEvent['msg']) => void>();
  private streamed = false;
  private waiting = false;
  /** Every error the session reported, in order (a failed write shows up here too). */
  readonly errors: { code: string; message: string }[] = [];
  readonly finished: Promise<void>;

  constructor(
    thread: CodexThread,
    private readonly o: Output,
  ) {
    this.finished = (async () => {
      for await (const ev of thread.events()) this.handle(ev);
    })();
  }

  waitFor(submission: string): Promise<SessionEvent['msg']> {
    return new Promise((resolve) => this.waiters.set(submission, resolve));
  }

  /** On a terminal, says that the model is being asked until its first words arrive. */
  showWaiting(): void {
    if (!this.o.isTTY) return;
    this.waiting = true;
    this.o.out(this.o.style.dim('assistant: …'));
  }

  private clearWaiting(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.o.out('\r\u001b[2K');
  }

  private label(): string {
    return this.o.isTTY ? this.o.style.cyan('assistant: ') : 'assistant: ';
  }

  private handle(ev: SessionEvent): void {
    const msg = ev.msg;
    switch (msg.type) {
      case 'agent_message_delta':
        this.clearWaiting();
        if (!this.streamed) this.o.out(this.label());
        this.streamed = true;
        this.o.out(msg.delta);
        return;
      case 'agent_message':
        this.clearWaiting();
        // Deltas already showed the text; a message that came whole is printed whole.
        if (!this.streamed) this.o.out(this.label() + msg.message);
        this.o.out('\n');
        this.streamed = false;
        return;
      case 'thread_name_updated':
        this.settle(ev.id, msg);
        return;
      case 'turn_complete':
      case 'turn_aborted':
      case 'error':
        this.clearWaiting();
        if (this.streamed) this.o.out('\n');
        this.streamed = false;
        if (msg.type === 'turn_aborted' && msg.reason === 'interrupted')
          this.o.err(this.o.errStyle.yellow('(interrupted)\n'));
        if (msg.type === 'error') {
          this.errors.push({ code: msg.code, message: msg.message });
          this.o.err(`skein: ${msg.message} [${msg.code}]\n`);
        }
        this.settle(ev.id, msg);
        return;
      default:
        return;
    }
  }

  private settle(id: string, msg: SessionEvent['msg']): void {
    const w = this.waiters.get(id);
    if (w) {
      this.waiters.delete(id);
      w(msg);
    }
  }
}

/** How many messages of a resumed thread are shown before the prompt. */
const RECENT_MESSAGES = 6;

export function chatCommand(): Command {
  const cmd = addStoreOptions(
    new Command('chat')
      .description('an interactive session: type a message, see the reply stream; the thread is recorded')
      .option('--resume <thread>', 'continue a thread (id, unique id prefix, or name)')
      .option('--model <name>', 'echo (offline, the default) or a model name for the Responses API')
      .option(
        '--responses-url <url>',
        'an OpenAI Responses API base URL, e.g. http://127.0.0.1:8080/v1 (needs --model NAME; no key needed on loopback)',
      )
      .option('--api-key-env <var>', 'environment variable holding the API key', 'OPENAI_API_KEY')
      .option(
        '--provider <id>',
        "model provider recorded on a new thread (default: the home's config.toml for a real model, echo for echo)",
      )
      .option('--cwd <dir>', 'working directory recorded on a new thread (default: the current one)')
      .option('--name <name>', 'name the thread (once it has its first message), to find it by name later')
      .option('--init', 'make the home first when it is missing or an empty folder'),
  );
  cmd.addHelpText(
    'after',
    `
Lines are read from stdin (a terminal or a pipe). Ctrl-C interrupts a reply (a second Ctrl-C exits); Ctrl-D ends.

Examples:
  skein chat                                    the offline echo model, in ~/.codex
  skein chat --name "release notes"             name the new thread
  skein chat --resume "release notes"           continue it (shows the last messages first)
  skein chat --model llama3 --responses-url http://127.0.0.1:11434/v1   a local server, no key
  echo "hello" | skein chat --home /tmp/h --init                          scripted, in a new home`,
  );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<ChatFlags>(c);
    const o = outputFor(c);
    checkModelFlags(flags);
    const { ThreadManager } = await import('@skein/thread-manager');
    const code = await withStore(
      flags,
      async (store, opened) => {
        const model = await modelClient(flags, providerFor(flags, opened.home));
        const manager = new ThreadManager({
          store,
          model,
          defaults: { originator: 'skein', cliVersion: skeinVersion() },
        });
        let thread: CodexThread;
        if (flags.resume !== undefined) {
          const found = await resolveThread(store, flags.resume, opened.storeArgs);
          printRecent(
            o,
            transcriptOf(await collect(store.loadHistory({ threadId: found.threadId, includeArchived: true }))),
          );
          thread = await manager.resumeThread({ threadId: found.threadId, includeArchived: true });
        } else {
          thread = await manager.startThread({ cwd: normalizeCwd(flags.cwd ?? process.cwd()) });
        }
        try {
          return await chatLoop(thread, o, model, flags.resume !== undefined, flags.name);
        } finally {
          await manager.shutdownAll();
        }
      },
      { canInit: true },
    );
    if (code !== EXIT_CODES.ok) throw new ExitWith(code);
  });
  return cmd;
}

/** The end of a resumed conversation, so the user knows where they left off. */
function printRecent(o: Output, transcript: readonly TranscriptEntry[]): void {
  const recent = transcript.slice(-RECENT_MESSAGES);
  if (recent.length === 0) return;
  const earlier = transcript.length - recent.length;
  if (earlier > 0) o.line(o.style.dim(`(${earlier} earlier ${earlier === 1 ? 'message' : 'messages'})`));
  for (const m of recent) {
    const label =
      m.role === 'user'
        ? o.style.green('you')
        : m.role === 'assistant'
          ? o.style.cyan('assistant')
          : o.style.yellow('--');
    o.line(`${label}: ${m.text.replace(/\n/g, '\n  ')}`);
  }
  o.line(o.style.dim('─'.repeat(Math.min(40, o.columns))));
}

async function chatLoop(
  thread: CodexThread,
  o: Output,
  model: ModelClient,
  resumed: boolean,
  name: string | undefined,
): Promise<number> {
  // readline loads only for chat, not with every command.
  const { createInterface } = await import('node:readline');
  const id = thread.threadId;
  const interactive = process.stdin.isTTY === true && o.isTTY;
  o.line(`Thread ${id} (${resumed ? 'resumed' : 'new'}; model ${model.model}, provider ${model.provider})`);
  if (interactive) o.line(o.style.dim('Type a message and press Enter. Ctrl-C interrupts a reply, Ctrl-D ends.'));

  const pump = new EventPump(thread, o);
  const rl = createInterface({
    input: process.stdin,
    terminal: interactive,
    ...(interactive ? { output: process.stdout } : {}),
  });
  rl.setPrompt(interactive ? o.style.green('> ') : '');
  let running: string | null = null;
  let interruptSent = false;
  let forceQuit = false;
  let lastError: ThreadStoreErrorCode | null = null;
  let turns = 0;
  let nameToSet = name;
  // Resolved when the user insists on leaving while a reply is still running.
  let quitNow!: () => void;
  const quit = new Promise<null>((resolve) => {
    quitNow = () => resolve(null);
  });
  const noteError = (code: string): void => {
    lastError = isThreadStoreErrorCode(code) ? code : 'internal';
  };

  // A name is stored once the thread exists: right away when resumed, else after the first turn
  // however it ended (a failed or interrupted reply still recorded the user's message).
  const applyName = async (): Promise<void> => {
    if (nameToSet === undefined) return;
    const wanted = nameToSet;
    nameToSet = undefined;
    const end = await Promise.race([
      pump.waitFor(thread.submit({ type: 'set_name', name: wanted })),
      pump.finished.then(() => null),
    ]);
    if (end?.type === 'error') noteError(end.code);
  };

  const onInterrupt = (): void => {
    if (running !== null && !interruptSent) {
      interruptSent = true;
      thread.submit({ type: 'interrupt' });
      return;
    }
    if (running !== null) {
      // Second Ctrl-C while the turn is still winding down: leave now (what is written stays).
      forceQuit = true;
      quitNow();
      o.err('\n');
    }
    rl.close();
  };
  // SIGTERM (a supervisor stopping us) ends the session like Ctrl-D: the thread is flushed.
  const onTerminate = (): void => {
    forceQuit = running !== null;
    if (forceQuit) quitNow();
    rl.close();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);

  try {
    if (resumed) await applyName();
    if (interactive) rl.prompt();
    for await (const line of rl) {
      if (forceQuit) break;
      const text = line.trim();
      if (text === '') {
        if (interactive) rl.prompt();
        continue;
      }
      running = thread.submit({ type: 'user_turn', items: [{ type: 'text', text }] });
      interruptSent = false;
      pump.showWaiting();
      const end = await Promise.race([pump.waitFor(running), pump.finished.then(() => null), quit]);
      running = null;
      turns += 1;
      if (end?.type === 'error') noteError(end.code);
      if (end === null || forceQuit) break;
      await applyName();
      if (interactive) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    rl.close();
  }
  if (forceQuit) {
    // Shutting down aborts the turn and writes what was accepted; a model that ignores the
    // abort does not get to keep us here for more than a few seconds.
    await Promise.race([thread.shutdown().catch(() => {}), new Promise((r) => setTimeout(r, 3000).unref())]);
    o.line(`Thread ${id}: stopped before the reply finished.`);
    return EXIT_CODES.interrupted;
  }
  const recorded = turns > 0 || resumed;
  // "Saved" is said only once a flush and the writer's close both succeeded: a server that died
  // mid-chat, or a disk that filled up, must not be reported as a saved thread.
  let saveFailure: { code: string; message: string } | null = null;
  if (recorded) {
    try {
      await thread.session.live.flush();
    } catch (err) {
      const e = isThreadStoreError(err) ? err : null;
      saveFailure = { code: e?.code ?? 'internal', message: (err as Error).message };
    }
  }
  const errorsBefore = pump.errors.length;
  await thread.shutdown();
  await pump.finished;
  saveFailure ??= pump.errors[errorsBefore] ?? null;
  if (interactive) o.out('\n');
  if (saveFailure !== null) {
    noteError(saveFailure.code);
    o.err(
      `skein: thread ${id} was not saved completely: ${saveFailure.message} [${saveFailure.code}]; what an earlier flush wrote is kept\n`,
    );
    return exitCodeForStoreError(lastError ?? 'internal');
  }
  o.line(
    !recorded
      ? `Thread ${id} ended with no messages; nothing was saved.`
      : `Thread ${id} saved. Resume with: skein chat --resume ${id}`,
  );
  return lastError === null ? EXIT_CODES.ok : exitCodeForStoreError(lastError);
}
