import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { ThreadStoreError } from '@skein/thread-store-api';
import type {
  ListThreadsParams,
  SearchThreadsParams,
  StoredThread,
  ThreadSearchResult,
  ThreadStore,
} from '@skein/thread-store-api';
import { UsageError } from '../cli-error.js';
import { flagsOf, outputFor, withStore } from '../command-context.js';
import { forkThroughManager } from '../fork.js';
import { addListOptions, listParams } from '../list-options.js';
import type { ListFlags } from '../list-options.js';
import type { Output } from '../output.js';
import { resolveThread } from '../resolve-thread.js';
import { addStoreOptions } from '../store-options.js';
import type { StoreFlags } from '../store-options.js';
import { searchResultJson, threadJson } from '../thread-json.js';
import type { SearchPageJson, ThreadPageJson, ThreadShowJson } from '../thread-json.js';
import { printSearchResults, printThreadDetail, printThreadList, threadMarkdown, threadTitle } from '../thread-text.js';
import { transcriptOf } from '../transcript.js';

interface JsonFlag {
  json?: boolean;
}

function nextPageHint(o: Output, cursor: string | null, json: boolean | undefined): void {
  if (cursor !== null && !json) o.err(`More threads: repeat with --cursor ${cursor} (or use --all)\n`);
}

/** Pages through a listing; `--all` follows cursors to the end. */
async function listPages<T>(
  fetch: (
    cursor: string | null | undefined,
  ) => Promise<{ items: T[]; nextCursor: string | null; backwardsCursor: string | null }>,
  first: string | null | undefined,
  all: boolean,
): Promise<{ items: T[]; nextCursor: string | null; backwardsCursor: string | null }> {
  const page = await fetch(first);
  if (!all) return page;
  const items = [...page.items];
  let cursor = page.nextCursor;
  while (cursor !== null) {
    const next = await fetch(cursor);
    items.push(...next.items);
    cursor = next.nextCursor;
  }
  return { items, nextCursor: null, backwardsCursor: null };
}

function storeCommand(name: string, description: string): Command {
  return addStoreOptions(new Command(name).description(description));
}

function withJson(cmd: Command): Command {
  return cmd.option('--json', 'machine-readable output (shapes in the README)');
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function threadsCommand(): Command {
  const threads = new Command('threads').description(
    'list, read, search, rename, archive, delete, fork and export threads',
  );

  const list = withJson(addListOptions(storeCommand('list', 'list threads, newest first'), true));
  list.action(async (_opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & ListFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    const params = listParams(flags);
    await withStore(flags, async (store) => {
      const page = await listPages(
        (cursor) => store.listThreads({ ...params, cursor: cursor ?? null }),
        params.cursor,
        flags.all === true,
      );
      if (flags.json) {
        const doc: ThreadPageJson = {
          threads: page.items.map(threadJson),
          nextCursor: page.nextCursor,
          backwardsCursor: page.backwardsCursor,
        };
        o.json(doc);
      } else printThreadList(o, page.items);
      nextPageHint(o, page.nextCursor, flags.json);
      if (page.items.length === 0 && !flags.json && o.errIsTTY && !flags.allProviders && !flags.allSources)
        o.err(
          o.errStyle.dim(
            "Listings show the store's default provider and interactive sources (cli, vscode) unless told otherwise: try --all-providers --all-sources.",
          ) + '\n',
        );
    });
  });

  const show = withJson(
    storeCommand('show', "a thread's details and conversation").argument('<thread>', 'id, unique id prefix, or name'),
  );
  show.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
      const transcript = transcriptOf(await historyOf(store, thread));
      if (flags.json) {
        const doc: ThreadShowJson = { thread: threadJson(thread), messages: transcript };
        o.json(doc);
      } else printThreadDetail(o, thread, transcript);
    });
  });

  const search = withJson(
    addListOptions(
      storeCommand('search', 'find threads whose messages contain text').argument(
        '<text>',
        'text to find in user and agent messages',
      ),
      false,
    ),
  );
  search.action(async (text: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & ListFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    if (text.trim() === '') throw new UsageError('search text cannot be empty');
    const { searchTerm: _unused, ...rest }: ListThreadsParams = listParams(flags);
    const params: SearchThreadsParams = { ...rest, searchTerm: text };
    await withStore(flags, async (store) => {
      const page = await listPages<ThreadSearchResult>(
        (cursor) => store.searchThreads({ ...params, cursor: cursor ?? null }),
        params.cursor,
        flags.all === true,
      );
      if (flags.json) {
        const doc: SearchPageJson = {
          results: page.items.map(searchResultJson),
          nextCursor: page.nextCursor,
          backwardsCursor: page.backwardsCursor,
        };
        o.json(doc);
      } else printSearchResults(o, page.items);
      nextPageHint(o, page.nextCursor, flags.json);
    });
  });

  const rename = withJson(
    storeCommand('rename', 'give a thread a name (or clear it with --clear)')
      .argument('<thread>', 'id, unique id prefix, or name')
      .argument('[name]', 'the new name')
      .option('--clear', 'remove the name'),
  );
  rename.action(async (ref: string, name: string | undefined, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag & { clear?: boolean }>(cmd);
    const o = outputFor(cmd);
    if (flags.clear && name !== undefined) throw new UsageError('give either a name or --clear, not both');
    if (!flags.clear && (name === undefined || name.trim() === ''))
      throw new UsageError('a name is required (or --clear to remove it)');
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
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

  const archive = withJson(
    storeCommand('archive', 'move a thread to the archive').argument('<thread>', 'id, unique id prefix, or name'),
  );
  archive.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
      if (thread.archivedAt !== null)
        throw ThreadStoreError.invalidRequest(`thread ${thread.threadId} is already archived`);
      await store.archiveThread({ threadId: thread.threadId });
      const after = await store.readThread({ threadId: thread.threadId, includeArchived: true });
      if (flags.json) o.json(threadJson(after));
      else o.line(`Archived ${thread.threadId} (${threadTitle(thread)})`);
    });
  });

  const unarchive = withJson(
    storeCommand('unarchive', 'bring a thread back from the archive').argument(
      '<thread>',
      'id, unique id prefix, or name',
    ),
  );
  unarchive.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
      if (thread.archivedAt === null)
        throw ThreadStoreError.invalidRequest(`thread ${thread.threadId} is not archived`);
      const after = await store.unarchiveThread({ threadId: thread.threadId });
      if (flags.json) o.json(threadJson(after));
      else o.line(`Unarchived ${after.threadId} (${threadTitle(after)})`);
    });
  });

  const del = withJson(
    storeCommand('delete', 'delete a thread and its history for good')
      .argument('<thread>', 'id, unique id prefix, or name')
      .option('-y, --yes', 'do not ask for confirmation on a terminal'),
  );
  del.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & JsonFlag & { yes?: boolean }>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
      // Asking only makes sense when a person is typing; scripts pass --yes or pipe stdin.
      if (!flags.yes && process.stdin.isTTY && o.errIsTTY) {
        if (!(await confirm(`Delete thread ${thread.threadId} (${threadTitle(thread)})?`))) {
          o.err('Nothing deleted.\n');
          return;
        }
      }
      await store.deleteThread({ threadId: thread.threadId });
      if (flags.json) o.json({ id: thread.threadId, deleted: true });
      else o.line(`Deleted ${thread.threadId} (${threadTitle(thread)})`);
    });
  });

  const fork = withJson(
    storeCommand('fork', 'start a new thread from a copy of another (optionally cut after a turn)')
      .argument('<thread>', 'id, unique id prefix, or name')
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
    await withStore(flags, async (store) => {
      const source = await resolveThread(store, ref);
      const forked = await forkThroughManager(store, source, turns);
      if (flags.json) o.json(threadJson(forked));
      else o.line(`Forked ${source.threadId} into ${forked.threadId}`);
    });
  });

  const exp = storeCommand('export', "write a thread's history to stdout")
    .argument('<thread>', 'id, unique id prefix, or name')
    .addOption(
      new Option('--format <format>', 'jsonl: the rollout lines as stored; markdown: the conversation')
        .choices(['jsonl', 'markdown'])
        .default('jsonl'),
    );
  exp.action(async (ref: string, _opts: unknown, cmd: Command) => {
    const flags = flagsOf<StoreFlags & { format: 'jsonl' | 'markdown' }>(cmd);
    const o = outputFor(cmd);
    await withStore(flags, async (store) => {
      const thread = await resolveThread(store, ref);
      if (flags.format === 'markdown') {
        o.out(threadMarkdown(thread, transcriptOf(await historyOf(store, thread))));
        return;
      }
      // Streamed line by line: a long thread never has to fit in memory here.
      for await (const item of store.loadHistory({ threadId: thread.threadId, includeArchived: true }))
        o.line(JSON.stringify(item));
    });
  });

  for (const c of [list, show, search, rename, archive, unarchive, del, fork, exp]) threads.addCommand(c);
  return threads;
}

async function historyOf(store: ThreadStore, thread: StoredThread) {
  const items = [];
  for await (const item of store.loadHistory({ threadId: thread.threadId, includeArchived: true })) items.push(item);
  return items;
}
