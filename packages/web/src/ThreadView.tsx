import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorText, isNotFound, isUnauthenticated } from './api.js';
import { authState } from './auth-state.js';
import { exportJsonl, exportMarkdown } from './export.js';
import { absoluteTime, ms, relativeTime, sourceName, title } from './format.js';
import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';
import { itemJson, itemText, TurnView } from './Items.js';
import { navigate, threadUrl } from './route.js';
import { threadQuery, turnsQuery } from './thread-queries.js';

/**
 * Turns rendered in the first frame: the turns a reader sees first are drawn at once, and the rest
 * of the page follows right after that frame (a page of a huge thread holds long turns).
 */
const FIRST_FRAME_TURNS = 3;

export function ThreadView({ threadId, turn, q }: { threadId: string; turn: string | null; q: string | null }) {
  const qc = useQueryClient();
  const meta = useQuery(threadQuery(threadId));
  const turns = useInfiniteQuery(turnsQuery(threadId));
  const all = turns.data?.pages.flatMap((p) => p.turns) ?? [];
  const [forkStatus, setForkStatus] = useState('');
  // Stable, so the memoised turns do not render again when the page around them does.
  const fork = useCallback(
    (n: number): void => {
      setForkStatus(`Forking after turn ${n}…`);
      api.forkThread({ threadId, turns: n }).then(
        (r) => {
          void qc.invalidateQueries({ queryKey: ['threads'] });
          if (r.thread) navigate(threadUrl(r.thread.threadId));
        },
        (e: unknown) => setForkStatus(`Fork failed: ${errorText(e)}`),
      );
    },
    [threadId, qc],
  );
  const live = useLive(threadId, turns.hasNextPage, () => void turns.refetch());
  const [allDrawn, setAllDrawn] = useState(false);
  // A deep link needs its target turn in the page at once.
  const drawn = allDrawn || turn !== null || (q?.trim() ?? '') !== '' || all.length <= FIRST_FRAME_TURNS;
  const shown = drawn ? all : all.slice(0, FIRST_FRAME_TURNS);
  useEffect(() => {
    if (allDrawn || all.length <= FIRST_FRAME_TURNS) return;
    // After the frame that shows the first turns has been painted.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => (timer = setTimeout(() => setAllDrawn(true))));
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [allDrawn, all.length]);

  // Load the next page when the end of the list comes into view.
  const endRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = endRef.current;
    if (!el) return;
    const obs = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && drawn && turns.hasNextPage && !turns.isFetchingNextPage)
        void turns.fetchNextPage();
    });
    obs.observe(el);
    return () => obs.disconnect();
  }, [turns, drawn]);

  // A deep link to a turn (?turn=) or to a search match (?q=): load pages until it is there.
  const needle = q?.trim().toLowerCase() ?? '';
  const targetIndex = all.findIndex((t) =>
    turn
      ? t.turnId === turn
      : needle
        ? t.items.some((i) => itemText(itemJson(i.itemJson)).toLowerCase().includes(needle))
        : false,
  );
  const wanted = turn !== null || needle !== '';
  useEffect(() => {
    if (wanted && targetIndex === -1 && turns.hasNextPage && !turns.isFetchingNextPage) void turns.fetchNextPage();
  }, [wanted, targetIndex, turns]);
  const scrolled = useRef(false);
  useEffect(() => {
    if (targetIndex < 0 || scrolled.current) return;
    scrolled.current = true;
    document.getElementById(`turn-${all[targetIndex]!.turnId}`)?.scrollIntoView({ block: 'start' });
  }, [targetIndex, all]);

  if (meta.isError)
    return (
      <p className="error" role="alert">
        {isNotFound(meta.error) ? `No thread ${threadId}.` : errorText(meta.error)}
      </p>
    );
  const t = meta.data;
  return (
    <section className="thread" aria-label="Thread">
      {t ? <ThreadHeader t={t} live={live} onChanged={() => void qc.invalidateQueries()} /> : <p>Loading…</p>}
      {forkStatus && (
        <p className="status" role="status">
          {forkStatus}
        </p>
      )}
      {turns.isError && (
        <p className="error" role="alert">
          {errorText(turns.error)}
        </p>
      )}
      {shown.map((tu, i) => (
        <TurnView key={tu.turnId} turn={tu} n={i + 1} target={i === targetIndex} onFork={fork} />
      ))}
      {turns.isSuccess && all.length === 0 && <p>This thread has no turns yet.</p>}
      <div ref={endRef} className="end">
        {turns.hasNextPage ? 'Loading more turns…' : turns.isSuccess ? `${all.length} turns` : ''}
      </div>
    </section>
  );
}

/**
 * Follows the thread while it is open (a server stream): each change reloads what it touches.
 * Returns whether the stream is connected.
 */
function useLive(threadId: string, moreBelow: boolean, reloadTurns: () => void): boolean {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const latest = useRef({ moreBelow, reloadTurns });
  latest.current = { moreBelow, reloadTurns };
  useEffect(() => {
    const abort = new AbortController();
    void (async () => {
      let last: { item: bigint | undefined; name: string | undefined; archived: bigint | undefined } | undefined;
      while (!abort.signal.aborted) {
        try {
          for await (const s of api.watchThread({ threadId, includeArchived: true }, { signal: abort.signal })) {
            setConnected(true);
            if (last !== undefined) {
              if (s.lastItemOrdinal !== last.item && !latest.current.moreBelow) latest.current.reloadTurns();
              if (s.name !== last.name || s.archivedAtMs !== last.archived)
                void qc.invalidateQueries({ queryKey: ['thread', threadId] });
            }
            last = { item: s.lastItemOrdinal, name: s.name, archived: s.archivedAtMs };
          }
        } catch (e) {
          if (abort.signal.aborted) return;
          setConnected(false);
          if (isUnauthenticated(e)) authState.refused(e);
          if (isNotFound(e) || isUnauthenticated(e)) return;
        }
        await new Promise((r) => setTimeout(r, 2_000));
      }
    })();
    return () => abort.abort();
  }, [threadId, qc]);
  return connected;
}

function ThreadHeader({ t, live, onChanged }: { t: StoredThread; live: boolean; onChanged: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [status, setStatus] = useState('');
  const [name, setName] = useState(t.name ?? '');
  const archived = t.archivedAtMs !== undefined;
  const run = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      setStatus(what);
      onChanged();
    } catch (e) {
      setStatus(`Failed: ${errorText(e)}`);
    }
  };
  const copy = (text: string, what: string): void => {
    navigator.clipboard.writeText(text).then(
      () => setStatus(`Copied ${what}`),
      () => setStatus(`Copy this: ${text}`),
    );
  };
  const usage = t.tokenUsage;
  return (
    <header className="thread-head">
      <h1>{title(t)}</h1>
      <p className="meta">
        <span className="mono">{t.threadId}</span>
        <time title={absoluteTime(ms(t.updatedAtMs))}>updated {relativeTime(ms(t.updatedAtMs))}</time>
        <span>{t.cwd}</span>
        <span>{t.modelProvider}</span>
        {t.model && <span>{t.model}</span>}
        <span>{sourceName(t)}</span>
        {t.gitInfo?.branch && <span>⎇ {t.gitInfo.branch}</span>}
        {archived && <span className="badge">archived</span>}
        {usage && <span>{Number(usage.totalTokens).toLocaleString('en')} tokens</span>}
        <span className={live ? 'live on' : 'live'}>{live ? '● live' : '○ not live'}</span>
      </p>
      <div className="actions" role="toolbar" aria-label="Thread actions">
        <button type="button" onClick={() => setRenaming(!renaming)}>
          Rename
        </button>
        {archived ? (
          <button
            type="button"
            onClick={() => void run('Unarchived', () => api.unarchiveThread({ threadId: t.threadId }))}
          >
            Unarchive
          </button>
        ) : (
          <button type="button" onClick={() => void run('Archived', () => api.archiveThread({ threadId: t.threadId }))}>
            Archive
          </button>
        )}
        <button type="button" onClick={() => setConfirmDelete(true)}>
          Delete…
        </button>
        <button type="button" onClick={() => copy(t.threadId, 'the id')}>
          Copy id
        </button>
        <button type="button" onClick={() => copy(`codex resume ${t.threadId}`, 'the resume command')}>
          Copy codex resume
        </button>
        <button type="button" onClick={() => void run('Exported Markdown', () => exportMarkdown(t))}>
          Export Markdown
        </button>
        <button type="button" onClick={() => void run('Exported JSONL', () => exportJsonl(t))}>
          Export JSONL
        </button>
      </div>
      {renaming && (
        <form
          className="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setRenaming(false);
            const v = name.trim();
            void run('Renamed', () =>
              api.updateThreadMetadata({
                threadId: t.threadId,
                includeArchived: true,
                patch: { name: { op: v ? { case: 'set', value: v } : { case: 'clear', value: true } } },
              }),
            );
          }}
        >
          <label>
            New name
            <input autoFocus value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit">Save</button>
          <button type="button" onClick={() => setRenaming(false)}>
            Cancel
          </button>
        </form>
      )}
      {confirmDelete && (
        <div className="confirm" role="alertdialog" aria-labelledby="delete-q">
          <p id="delete-q">Delete this thread and its history for good?</p>
          <button
            type="button"
            className="danger"
            onClick={() =>
              void api.deleteThread({ threadId: t.threadId }).then(
                () => navigate('/'),
                (e: unknown) => setStatus(`Failed: ${errorText(e)}`),
              )
            }
          >
            Delete
          </button>
          <button type="button" onClick={() => setConfirmDelete(false)}>
            Cancel
          </button>
        </div>
      )}
      <p className="status" role="status">
        {status}
      </p>
    </header>
  );
}
