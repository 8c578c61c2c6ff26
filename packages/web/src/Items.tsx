import { memo, useMemo, useState } from 'react';
import Markdown from 'react-markdown';
import type { Components } from 'react-markdown';
import type { Turn } from './gen/skein/threadstore/v1/thread_store_pb.js';
import { TurnStatus } from './gen/skein/threadstore/v1/thread_store_pb.js';
import { absoluteTime, relativeTime } from './format.js';

type Json = Record<string, unknown>;
const decoder = new TextDecoder();

/** An item's JSON (an app-server v2 ThreadItem). */
export function itemJson(bytes: Uint8Array): Json {
  try {
    const v: unknown = JSON.parse(decoder.decode(bytes));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : { type: 'unknown', value: v };
  } catch {
    return { type: 'unreadable' };
  }
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The text a person reads in an item (what search matches and Markdown export writes). */
export function itemText(it: Json): string {
  switch (it.type) {
    case 'userMessage':
      return (Array.isArray(it.content) ? it.content : [])
        .map((c: unknown) => (typeof c === 'object' && c !== null ? str((c as Json).text) : ''))
        .filter((s) => s !== '')
        .join('\n');
    case 'agentMessage':
      return str(it.text);
    case 'reasoning':
      return (Array.isArray(it.summary) ? it.summary : []).map(str).join('\n');
    default:
      return JSON.stringify(it);
  }
}

/** Links only to the web and mail: `javascript:`, `data:` and every other scheme lose their href. */
export function safeUrl(url: string): string {
  return /^(https?:|mailto:)/i.test(url.trim()) ? url : '';
}

/**
 * Markdown as React elements, never as HTML: raw HTML in the text stays text (react-markdown
 * escapes it without a raw-HTML plugin), links keep only web and mail URLs, and images are named,
 * not loaded.
 */
const MD_COMPONENTS: Components = {
  img: ({ alt }) => <span>[image: {alt}]</span>,
  // A link whose URL was dropped is plain text: an empty href would reload the page.
  a: ({ href, children }) =>
    href ? (
      <a href={href} target="_blank" rel="noopener noreferrer nofollow">
        {children}
      </a>
    ) : (
      <span className="dead-link">{children}</span>
    ),
};

/** Parsing Markdown is the costly part of showing a turn: a message is parsed again only when its text changes. */
const Md = memo(function Md({ text }: { text: string }) {
  return (
    <div className="md">
      <Markdown urlTransform={safeUrl} components={MD_COMPONENTS}>
        {text}
      </Markdown>
    </div>
  );
});

/** Reasoning is collapsed; its Markdown is rendered when it is first opened. */
function Reasoning({ text }: { text: string }) {
  const [opened, setOpened] = useState(false);
  return (
    <details className="reasoning" onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>Reasoning</summary>
      {opened && <Md text={text} />}
    </details>
  );
}

const LONG = 2_000;

/** Long text shows its start, with a button for the rest. */
function Truncated({ text, className }: { text: string; className?: string }) {
  const [all, setAll] = useState(false);
  const long = text.length > LONG;
  return (
    <>
      <pre className={className}>{all || !long ? text : `${text.slice(0, LONG)}…`}</pre>
      {long && (
        <button type="button" className="link" onClick={() => setAll(!all)}>
          {all ? 'Show less' : `Show all (${text.length.toLocaleString('en')} characters)`}
        </button>
      )}
    </>
  );
}

/** A unified diff with added and removed lines marked. */
function Diff({ text }: { text: string }) {
  const lines = text.split('\n');
  return (
    <pre className="diff">
      {lines.map((l, i) => (
        <span
          key={i}
          className={
            l.startsWith('+') && !l.startsWith('+++')
              ? 'add'
              : l.startsWith('-') && !l.startsWith('---')
                ? 'del'
                : l.startsWith('@@')
                  ? 'hunk'
                  : undefined
          }
        >
          {l}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

function Tool({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <details className="tool">
      <summary>{label}</summary>
      {children}
    </details>
  );
}

export const Item = memo(function Item({ it }: { it: Json }) {
  switch (it.type) {
    case 'userMessage':
      return (
        <div className="msg user">
          <div className="who">User</div>
          <Md text={itemText(it)} />
        </div>
      );
    case 'agentMessage':
      return (
        <div className="msg assistant">
          <div className="who">Assistant</div>
          <Md text={str(it.text)} />
        </div>
      );
    case 'reasoning':
      return <Reasoning text={itemText(it)} />;
    case 'commandExecution': {
      const command = Array.isArray(it.command) ? it.command.map(str).join(' ') : str(it.command);
      return (
        <Tool label={`Command: ${command}${typeof it.exitCode === 'number' ? ` (exit ${it.exitCode})` : ''}`}>
          <pre>{command}</pre>
          <Truncated text={str(it.aggregatedOutput)} className="output" />
        </Tool>
      );
    }
    case 'fileChange': {
      const changes = Array.isArray(it.changes) ? (it.changes as Json[]) : [];
      return (
        <Tool label={`Patch: ${changes.map((c) => str(c.path)).join(', ') || 'files'}`}>
          {changes.map((c, i) => (
            <div key={i}>
              <div className="path">{str(c.path)}</div>
              <Diff text={str(c.diff)} />
            </div>
          ))}
        </Tool>
      );
    }
    case 'contextCompaction':
      return <div className="note">Context compacted</div>;
    default: {
      const name = str(it.tool) || str(it.name) || str(it.type) || 'item';
      return (
        <Tool label={`${str(it.type) || 'Item'}${name !== it.type ? `: ${name}` : ''}`}>
          <Truncated text={JSON.stringify(it, null, 2)} className="output" />
        </Tool>
      );
    }
  }
});

const STATUS: Record<TurnStatus, string> = {
  [TurnStatus.UNSPECIFIED]: '',
  [TurnStatus.COMPLETED]: 'completed',
  [TurnStatus.INTERRUPTED]: 'interrupted',
  [TurnStatus.FAILED]: 'failed',
  [TurnStatus.IN_PROGRESS]: 'in progress',
};

/** A turn; rendered again only when its page data, number, target or fork handler change. */
export const TurnView = memo(function TurnView({
  turn,
  n,
  target,
  onFork,
}: {
  turn: Turn;
  n: number;
  target: boolean;
  /** Forks the thread keeping turns 1..n. */
  onFork: (n: number) => void;
}) {
  const started = turn.startedAtMs === undefined ? null : Number(turn.startedAtMs);
  const items = useMemo(
    () => turn.items.map((i) => ({ key: `${i.itemId}-${i.ordinal}`, it: itemJson(i.itemJson) })),
    [turn],
  );
  return (
    <article
      className={target ? 'turn target' : 'turn'}
      id={`turn-${turn.turnId}`}
      aria-label={`Turn ${n}`}
      data-turn-id={turn.turnId}
    >
      <header className="turn-head">
        <h2>Turn {n}</h2>
        <span className={`status s${turn.status}`}>{STATUS[turn.status]}</span>
        {started !== null && <time title={absoluteTime(started)}>{relativeTime(started)}</time>}
        {turn.durationMs !== undefined && <span>{(Number(turn.durationMs) / 1000).toFixed(1)} s</span>}
        <button type="button" className="link fork" onClick={() => onFork(n)} aria-label={`Fork here, after turn ${n}`}>
          Fork here
        </button>
      </header>
      {turn.error && (
        <p className="error" role="note">
          Failed: {turn.error.message}
        </p>
      )}
      {items.map(({ key, it }) => (
        <Item key={key} it={it} />
      ))}
    </article>
  );
});
