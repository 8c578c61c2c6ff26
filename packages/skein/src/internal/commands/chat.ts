import { createInterface } from 'node:readline';
import { Command } from 'commander';
import type { ModelClient, SessionEvent } from '@skein/core-session';
import { isThreadStoreErrorCode, ThreadStoreError } from '@skein/thread-store-api';
import type { ThreadStoreErrorCode } from '@skein/thread-store-api';
import type { CodexThread } from '@skein/thread-manager';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { EXIT_CODES, exitCodeForStoreError } from '../exit-codes.js';
import type { Output } from '../output.js';
import { resolveThread } from '../resolve-thread.js';
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
}

/** Raised to end the command with an exit code after the session was closed properly. */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
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

async function modelClient(flags: ChatFlags): Promise<ModelClient> {
  const { EchoModelClient, OpenAIResponsesModelClient } = await import('@skein/core-session');
  if (flags.responsesUrl !== undefined) {
    if (flags.model === undefined || flags.model === 'echo')
      throw new UsageError('--responses-url needs --model NAME: the model to ask at that server');
    let url: URL;
    try {
      url = new URL(flags.responsesUrl);
    } catch {
      throw new UsageError(`--responses-url must be a URL like http://127.0.0.1:8080/v1, got "${flags.responsesUrl}"`);
    }
    requireApiKey(flags.apiKeyEnv);
    return new OpenAIResponsesModelClient({
      model: flags.model,
      baseUrl: url.toString().replace(/\/$/, ''),
      apiKeyEnv: flags.apiKeyEnv,
    });
  }
  if (flags.model === undefined || flags.model === 'echo') return new EchoModelClient();
  // A model name alone asks the OpenAI Responses API itself (needs the API key variable).
  requireApiKey(flags.apiKeyEnv);
  return new OpenAIResponsesModelClient({ model: flags.model, apiKeyEnv: flags.apiKeyEnv });
}

/** Routes the session's single event stream to whoever waits for a submission to finish. */
class EventPump {
  private readonly waiters = new Map<string, (msg: SessionEvent['msg']) => void>();
  private streamed = false;
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

  private label(): string {
    return this.o.isTTY ? this.o.style.cyan('assistant: ') : 'assistant: ';
  }

  private handle(ev: SessionEvent): void {
    const msg = ev.msg;
    switch (msg.type) {
      case 'agent_message_delta':
        if (!this.streamed) this.o.out(this.label());
        this.streamed = true;
        this.o.out(msg.delta);
        return;
      case 'agent_message':
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
        if (this.streamed) this.o.out('\n');
        this.streamed = false;
        if (msg.type === 'turn_aborted' && msg.reason === 'interrupted')
          this.o.err(this.o.errStyle.yellow('(interrupted)\n'));
        if (msg.type === 'error') this.o.err(`skein: ${msg.message} [${msg.code}]\n`);
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

export function chatCommand(): Command {
  const cmd = addStoreOptions(
    new Command('chat')
      .description('an interactive session: type a message, see the reply stream; the thread is recorded')
      .option('--resume <thread>', 'continue a thread (id, unique id prefix, or name)')
      .option('--model <name>', 'echo (offline, the default) or a model name for the Responses API')
      .option(
        '--responses-url <url>',
        'an OpenAI Responses API base URL, e.g. http://127.0.0.1:8080/v1 (needs --model NAME)',
      )
      .option('--api-key-env <var>', 'environment variable holding the API key', 'OPENAI_API_KEY')
      .option('--cwd <dir>', 'working directory recorded on a new thread (default: the current one)')
      .option('--name <name>', 'name the thread (once it has its first message), to find it by name later')
      .option('--init', 'make the home first when it is missing or an empty folder'),
  );
  cmd.addHelpText(
    'after',
    '\nLines are read from stdin (a terminal or a pipe). Ctrl-C interrupts a reply (a second Ctrl-C exits); Ctrl-D ends.',
  );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<ChatFlags>(c);
    const o = outputFor(c);
    const model = await modelClient(flags);
    const { ThreadManager } = await import('@skein/thread-manager');
    const code = await withStore(flags, async (store) => {
      const manager = new ThreadManager({
        store,
        model,
        defaults: { originator: 'skein', cliVersion: skeinVersion() },
      });
      let thread: CodexThread;
      if (flags.resume !== undefined) {
        const found = await resolveThread(store, flags.resume);
        thread = await manager.resumeThread({ threadId: found.threadId, includeArchived: true });
      } else {
        thread = await manager.startThread({ cwd: flags.cwd ?? process.cwd() });
      }
      try {
        return await chatLoop(thread, o, model, flags.resume !== undefined, flags.name);
      } finally {
        await manager.shutdownAll();
      }
    });
    if (code !== EXIT_CODES.ok) throw new ExitWith(code);
  });
  return cmd;
}

async function chatLoop(
  thread: CodexThread,
  o: Output,
  model: ModelClient,
  resumed: boolean,
  name: string | undefined,
): Promise<number> {
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

  // A name is stored once the thread exists: right away when resumed, else after the first turn.
  const applyName = async (): Promise<void> => {
    if (nameToSet === undefined) return;
    const wanted = nameToSet;
    nameToSet = undefined;
    const end = await Promise.race([
      pump.waitFor(thread.submit({ type: 'set_name', name: wanted })),
      pump.finished.then(() => null),
    ]);
    if (end?.type === 'error') lastError = isThreadStoreErrorCode(end.code) ? end.code : 'internal';
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
      const end = await Promise.race([pump.waitFor(running), pump.finished.then(() => null), quit]);
      running = null;
      turns += 1;
      if (end?.type === 'error') lastError = isThreadStoreErrorCode(end.code) ? end.code : 'internal';
      if (end === null || forceQuit) break;
      if (end.type === 'turn_complete') await applyName();
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
  await thread.shutdown();
  await pump.finished;
  if (interactive) o.out('\n');
  o.line(
    turns === 0 && !resumed
      ? `Thread ${id} ended with no messages; nothing was saved.`
      : `Thread ${id} saved. Resume with: skein chat --resume ${id}`,
  );
  return lastError === null ? EXIT_CODES.ok : exitCodeForStoreError(lastError);
}

export function isExitWith(err: unknown): err is ExitWith {
  return err instanceof ExitWith;
}
