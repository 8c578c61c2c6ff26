import type { Command } from 'commander';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { StoredThread, ThreadStore } from '@skein/thread-store-api';
import { actOnEach, addBulkFilters, describeFailure, hasBulkFilter, selectThreads } from '../bulk.js';
import type { BulkFlags } from '../bulk.js';
import { ExitWith, UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { exitCodeForStoreError } from '../exit-codes.js';
import { forkThroughManager } from '../fork.js';
import type { Output } from '../output.js';
import { paged } from '../pager.js';
import { confirmOrRefuse } from '../prompt.js';
import { resolveThread } from '../resolve-thread.js';
import type { OpenedStore, StoreFlags } from '../store-options.js';
import { threadJson } from '../thread-json.js';
import { printThreadList, threadTitle } from '../thread-text.js';
import { storeCommand, THREAD_ARG, withJson } from './thread-command-kit.js';
import type { JsonFlag } from './thread-command-kit.js';
import { formatCount } from '../count.js';

interface ManyFlags extends StoreFlags, BulkFlags, JsonFlag {
  yes?: boolean;
  archived?: boolean;
}

export function renameCommand(): Command {
  const rename = withJson(
    storeCommand('rename', 'give a thread a name (or clear it with --clear)', [
      'skein threads rename 0193a1b2 "release notes"',
      'skein threads rename "release notes" --clear',
    ])
      .argument('<thread>', THREAD_ARG)
      .argument('[name]', 'the new name')
      .option('--clear', 'remove the name'),
  );
  rename.action(async (ref: string, name: string | undefined, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag & { clear?: boolean }>(cmd);
    const o = outputFor(cmd);
    if (flags.clear && name !== undefined) throw new UsageError('give either a name or --clear, not both');
    if (!flags.clear && (name === undefined || name.trim() === ''))
      throw new UsageError('a name is required (or --clear to remove it)');
    await withStore(flags, async (store, opened) => {
      const thread = await resolveThread(store, ref, opened.storeArgs);
      const updated = await store.updateThreadMetadata({
        threadId: thread.threadId,
        patch: { name: flags.clear ? null : (name ?? null) },
        includeArchived: true,
      });
      if (flags.json) o.json(threadJson(updated));
      else
        o.line(
          updated.name === null
            ? `Cleared the name of ${updated.threadId}`
            : `Renamed ${updated.threadId} to "${updated.name}"`,
        );
    });
  });
  return rename;
}

/** The threads a command acts on: the ones named, or the ones the filters pick (not both). */
async function targets(
  store: ThreadStore,
  opened: OpenedStore,
  refs: readonly string[],
  flags: ManyFlags,
  archived: boolean,
): Promise<StoredThread[]> {
  if (refs.length > 0 && hasBulkFilter(flags))
    throw new UsageError('give threads or filters (--older-than …), not both');
  if (refs.length === 0) {
    if (!hasBulkFilter(flags)) throw new UsageError('give a thread, or filters such as --older-than 30d to pick many');
    return selectThreads(store, flags, archived);
  }
  const out = new Map<string, StoredThread>();
  for (const ref of refs) {
    const t = await resolveThread(store, ref, opened.storeArgs);
    out.set(t.threadId, t);
  }
  return [...out.values()];
}

/** Threads about to be acted on, before the question: the first few and how many more. */
const SAMPLE = 15;
function printSample(o: Output, threads: readonly StoredThread[]): void {
  printThreadList(o, threads.slice(0, SAMPLE));
  if (threads.length > SAMPLE) o.line(`… and ${plural(threads.length - SAMPLE)} more`);
}

function plural(n: number, word = 'thread'): string {
  return `${formatCount(n)} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The end of a command that acted on threads: a summary, the failures, an exit code. One thread
 * named on the command line keeps the single-thread shapes (the thread itself in `--json`).
 */
async function summarize(
  o: Output,
  json: boolean | undefined,
  past: string,
  result: { done: StoredThread[]; failed: { thread: StoredThread; error: unknown }[] },
  single: ((t: StoredThread) => Promise<unknown>) | null,
): Promise<void> {
  if (single !== null && result.done.length === 1) {
    const t = result.done[0]!;
    if (json) o.json(await single(t));
    else o.line(`${past} ${t.threadId} (${threadTitle(t)})`);
  } else if (json) {
    o.json({
      [past.toLowerCase()]: result.done.map((t) => t.threadId),
      failed: result.failed.map((f) => ({
        id: f.thread.threadId,
        error: f.error instanceof Error ? f.error.message : String(f.error),
      })),
    });
  } else o.line(`${past} ${plural(result.done.length)}.`);
  if (result.failed.length > 0) {
    if (single !== null && result.failed.length === 1) throw result.failed[0]!.error;
    o.err(`skein: ${plural(result.failed.length)} failed:\n${result.failed.map(describeFailure).join('\n')}\n`);
    const first = result.failed[0]!.error;
    throw new ExitWith(first instanceof ThreadStoreError ? exitCodeForStoreError(first.code) : 1);
  }
}

interface ManyOptions {
  name: 'archive' | 'unarchive' | 'delete';
  description: string;
  past: string;
  examples: string[];
  /** Which collection filters search; `delete` follows `--archived`. */
  archived: (flags: ManyFlags) => boolean;
  /** Asked before acting: always for delete, for many threads otherwise. */
  confirmAlways: boolean;
  check?: (t: StoredThread) => void;
  act: (store: ThreadStore, t: StoredThread) => Promise<void>;
  /** The `--json` of one named thread after the act. */
  singleJson: (store: ThreadStore, t: StoredThread) => Promise<unknown>;
}

function manyCommand(spec: ManyOptions): Command {
  const cmd = withJson(
    addBulkFilters(
      storeCommand(spec.name, spec.description, spec.examples)
        .argument('[threads...]', `${THREAD_ARG}; or pick many with the filters`)
        .option('-y, --yes', 'act without asking (needed when stdin is not a terminal)'),
    ),
  );
  if (spec.name === 'delete') cmd.option('--archived', 'with filters: pick from the archived threads');
  cmd.action(async (refs: string[], _opts: unknown, c: Command) => {
    const flags = flagsOf<ManyFlags>(c);
    const o = outputFor(c);
    await withStore(flags, async (store, opened) => {
      const threads = await targets(store, opened, refs, flags, spec.archived(flags));
      for (const t of threads) spec.check?.(t);
      if (threads.length === 0) {
        if (flags.json) o.json({ [spec.past.toLowerCase()]: [], failed: [] });
        else o.line(`No threads match; nothing ${spec.past.toLowerCase()}.`);
        return;
      }
      const single = refs.length === 1 && threads.length === 1;
      if (spec.confirmAlways || !single) {
        const what = single ? `thread ${threads[0]!.threadId} (${threadTitle(threads[0]!)})` : plural(threads.length);
        if (!single && !flags.yes && !flags.json) printSample(o, threads);
        const verb = spec.name[0]!.toUpperCase() + spec.name.slice(1);
        if (!(await confirmOrRefuse(o, flags.yes, `${verb} ${what}?`, `${spec.name} of ${what}`))) {
          o.err(`Nothing ${spec.past.toLowerCase()}.\n`);
          return;
        }
      }
      const result = await actOnEach(o, `${spec.name.replace(/e$/, '')}ing`, threads, (t) => spec.act(store, t));
      await summarize(o, flags.json, spec.past, result, single ? (t) => spec.singleJson(store, t) : null);
    });
  });
  return cmd;
}

async function afterJson(store: ThreadStore, t: StoredThread): Promise<unknown> {
  return threadJson(await store.readThread({ threadId: t.threadId, includeArchived: true }));
}

export function archiveCommand(): Command {
  return manyCommand({
    name: 'archive',
    description: 'move threads to the archive (one, several, or all that match filters)',
    past: 'Archived',
    examples: ['skein threads archive 0193a1b2', 'skein threads archive --older-than 30d --yes'],
    archived: () => false,
    confirmAlways: false,
    check: (t) => {
      if (t.archivedAt !== null) throw ThreadStoreError.invalidRequest(`thread ${t.threadId} is already archived`);
    },
    act: (store, t) => store.archiveThread({ threadId: t.threadId }),
    singleJson: afterJson,
  });
}

export function unarchiveCommand(): Command {
  return manyCommand({
    name: 'unarchive',
    description: 'bring threads back from the archive (one, several, or all that match filters)',
    past: 'Unarchived',
    examples: ['skein threads unarchive 0193a1b2', 'skein threads unarchive --cwd ~/proj --yes'],
    archived: () => true,
    confirmAlways: false,
    check: (t) => {
      if (t.archivedAt === null) throw ThreadStoreError.invalidRequest(`thread ${t.threadId} is not archived`);
    },
    act: async (store, t) => void (await store.unarchiveThread({ threadId: t.threadId })),
    singleJson: afterJson,
  });
}

export function deleteCommand(): Command {
  return manyCommand({
    name: 'delete',
    description: 'delete threads and their history for good (asks first; --yes in scripts)',
    past: 'Deleted',
    examples: ['skein threads delete 0193a1b2', 'skein threads delete --archived --older-than 90d --yes'],
    archived: (f) => f.archived === true,
    confirmAlways: true,
    act: (store, t) => store.deleteThread({ threadId: t.threadId }),
    singleJson: (_store, t) => Promise.resolve({ id: t.threadId, deleted: true }),
  });
}

export function pruneCommand(): Command {
  const cmd = withJson(
    addBulkFilters(
      storeCommand('prune', 'delete old threads: shows what would go (a dry run) unless --yes', [
        'skein threads prune --older-than 30d                  what would be deleted',
        'skein threads prune --older-than 30d --archived --yes  delete old archived threads',
      ])
        .option('--archived', 'prune the archived threads instead of the active ones')
        .option('-y, --yes', 'delete them (without it, nothing is deleted)'),
      true,
    ),
  );
  cmd.action(async (_opts: unknown, c: Command) => {
    const flags = flagsOf<ManyFlags>(c);
    const o = outputFor(c);
    await withStore(flags, async (store) => {
      const threads = await selectThreads(store, flags, flags.archived === true);
      if (!flags.yes) {
        if (flags.json) o.json({ dryRun: true, threads: threads.map(threadJson) });
        else
          await paged(o, (out) => {
            if (threads.length > 0) printThreadList(out, threads);
            out.line(
              threads.length === 0
                ? `No ${flags.archived ? 'archived ' : ''}threads older than ${flags.olderThan}; nothing to prune.`
                : `${plural(threads.length)} would be deleted. Run again with --yes to delete them.`,
            );
          });
        return;
      }
      const result = await actOnEach(o, 'deleting', threads, (t) => store.deleteThread({ threadId: t.threadId }));
      await summarize(o, flags.json, 'Deleted', result, null);
    });
  });
  return cmd;
}

/** How many turns a history has, counted the way `fork --turn` counts them. */
async function turnCount(store: ThreadStore, threadId: string): Promise<number> {
  const { conversationOf } = await import('../conversation.js');
  const { collect } = await import('../transcript.js');
  const items = await collect(
    store.loadHistory({ threadId: threadId as StoredThread['threadId'], includeArchived: true }),
  );
  return conversationOf(items).length;
}

export function forkCommand(): Command {
  const fork = withJson(
    storeCommand('fork', 'start a new thread from a copy of another (optionally cut after a turn)', [
      'skein threads fork 0193a1b2                 a copy of every turn',
      'skein threads fork 0193a1b2 --turn 2        turns 1 and 2 (numbers as threads show prints them)',
    ])
      .argument('<thread>', THREAD_ARG)
      .option('--turn <n>', 'keep the first N turns (default: all)'),
  );
  fork.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag & { turn?: string }>(cmd);
    const o = outputFor(cmd);
    let turns: number | undefined;
    if (flags.turn !== undefined) {
      turns = Number(flags.turn);
      if (!Number.isInteger(turns) || turns < 1)
        throw new UsageError(`--turn must be a whole number of turns (1 or more), got "${flags.turn}"`);
    }
    await withStore(flags, async (store, opened) => {
      const source = await resolveThread(store, ref, opened.storeArgs);
      const forked = await forkThroughManager(store, source, turns);
      // Never report a fork that lost the conversation as a success.
      const wanted = turns ?? (await turnCount(store, source.threadId));
      if (wanted > 0 && (await turnCount(store, forked.threadId)) === 0)
        throw new ThreadStoreError(
          'internal',
          `the fork ${forked.threadId} of ${source.threadId} has no turns; it is not a usable copy (delete it with: skein threads delete ${forked.threadId})`,
        );
      if (flags.json) o.json(threadJson(forked));
      else o.line(`Forked ${source.threadId} into ${forked.threadId}`);
    });
  });
  return fork;
}
