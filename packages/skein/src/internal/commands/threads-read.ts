import { Option } from 'commander';
import type { Command } from 'commander';
import type { RolloutItem, StoredThread, ThreadStore } from '@skein/thread-store-api';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { conversationOf } from '../conversation.js';
import type { ConversationTurn } from '../conversation.js';
import { paged } from '../pager.js';
import { resolveThread } from '../resolve-thread.js';
import type { StoreFlags } from '../store-options.js';
import { threadJson } from '../thread-json.js';
import type { ThreadShowJson } from '../thread-json.js';
import { printThreadDetail, threadMarkdown } from '../thread-text.js';
import { collect, transcriptOf } from '../transcript.js';
import { storeCommand, THREAD_ARG, withJson } from './thread-command-kit.js';
import type { JsonFlag } from './thread-command-kit.js';

interface ReadFlags extends StoreFlags, JsonFlag {
  full?: boolean;
  pager?: boolean;
}

export function historyOf(store: ThreadStore, thread: StoredThread): Promise<RolloutItem[]> {
  return collect(store.loadHistory({ threadId: thread.threadId, includeArchived: true }));
}

/** Turns for `--json`: user and agent messages only, unless `--full`. */
function turnsJson(turns: readonly ConversationTurn[], full: boolean): ConversationTurn[] {
  return full
    ? [...turns]
    : turns.map((t) => ({ ...t, entries: t.entries.filter((e) => e.kind === 'user' || e.kind === 'assistant') }));
}

export function showCommand(): Command {
  const show = withJson(
    storeCommand('show', "a thread's details and its numbered turns", [
      'skein threads show 0193a1b2                 by id prefix',
      'skein threads show "release notes"          by name (any case)',
      'skein threads show 0193a1b2 --full          with reasoning, tool calls and outputs',
      'skein threads show 0193a1b2 --no-pager | grep assistant',
    ])
      .argument('<thread>', THREAD_ARG)
      .option('--full', 'also reasoning, and tool calls with their arguments and outputs')
      .option('--no-pager', 'do not page long output on a terminal ($PAGER, else less -FRX)'),
  );
  show.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<ReadFlags>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store, opened) => {
      const thread = await resolveThread(store, ref, opened.storeArgs);
      const history = await historyOf(store, thread);
      const turns = conversationOf(history);
      if (flags.json) {
        const doc: ThreadShowJson = {
          thread: threadJson(thread),
          messages: transcriptOf(history),
          turns: turnsJson(turns, flags.full === true),
        };
        o.json(doc);
        return;
      }
      await paged(o, (out) => printThreadDetail(out, thread, turns, flags.full === true), flags.pager !== false);
    });
  });
  return show;
}

export function exportCommand(): Command {
  const exp = storeCommand('export', "write a thread's history to stdout", [
    'skein threads export 0193a1b2 > thread.jsonl      the rollout lines, as stored',
    'skein threads export 0193a1b2 --format markdown --full > thread.md',
  ])
    .argument('<thread>', THREAD_ARG)
    .addOption(
      new Option('--format <format>', 'jsonl: the rollout lines as stored; markdown: the conversation, turn by turn')
        .choices(['jsonl', 'markdown'])
        .default('jsonl'),
    )
    .option('--full', 'markdown: also reasoning, and tool calls with their arguments and outputs')
    .option('--no-pager', 'markdown: do not page on a terminal');
  exp.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<ReadFlags & { format: 'jsonl' | 'markdown' }>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store, opened) => {
      const thread = await resolveThread(store, ref, opened.storeArgs);
      if (flags.format === 'markdown') {
        const md = threadMarkdown(thread, conversationOf(await historyOf(store, thread)), flags.full === true);
        await paged(o, (out) => out.out(md), flags.pager !== false);
        return;
      }
      // Streamed line by line: a long thread never has to fit in memory here.
      for await (const item of store.loadHistory({ threadId: thread.threadId, includeArchived: true }))
        o.line(JSON.stringify(item));
    });
  });
  return exp;
}
