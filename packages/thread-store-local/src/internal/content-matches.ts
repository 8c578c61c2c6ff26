import { candidateSql, firstMatch, normalizedTerm } from './content-search.js';
import type { IndexContext } from './index-context.js';

/**
 * The files whose thread shows a message containing `term`, each with the first such message
 * in history order: a paginated fork's inherited prefix (its parent's messages up to
 * history_base's offset, recursively) comes before its own. A revert's segment is such a fork
 * of an older rollout of its thread; `relOfRollout` finds the file a `history_base` names.
 */
export function contentMatches(
  ctx: IndexContext,
  term: string,
  relOfRollout: (rolloutId: string) => string | undefined,
): Map<string, string> {
  const lower = normalizedTerm(term);
  const cand = candidateSql(lower);
  const own = new Map<string, { text: string; end: number }>();
  const rows = ctx
    .stmt(
      `SELECT mf.rel AS rel, mf.parts AS parts, m.text AS text FROM messages m JOIN message_files mf ON mf.rid = m.rowid
       WHERE ${cand.where} ORDER BY mf.rid`,
    )
    .iterate(cand.arg) as Iterable<{ rel: string; parts: string; text: string }>;
  for (const r of rows) {
    if (own.has(r.rel)) continue;
    const hit = firstMatch(r, lower);
    if (hit) own.set(r.rel, hit);
  }
  const out = new Map<string, string>();
  for (const [rel, hit] of own) out.set(rel, hit.text);
  const forks = ctx
    .stmt(
      `SELECT t.rel AS rel, f.base_id AS base_id, f.base_end AS base_end FROM threads t JOIN files f ON f.rel = t.rel
       WHERE f.base_id IS NOT NULL`,
    )
    .all() as { rel: string; base_id: string; base_end: number }[];
  if (forks.length === 0) return out;
  // Every file's base, not only the threads' current files: a chain runs through the older
  // segments of a reverted thread, which are no thread's current file.
  const linked = ctx.stmt('SELECT rel, base_id, base_end FROM files WHERE base_id IS NOT NULL').all() as {
    rel: string;
    base_id: string;
    base_end: number;
  }[];
  const bases = new Map(linked.map((f) => [f.rel, f]));
  for (const fork of forks) {
    // Walk up the chain; the hit nearest the root comes first in the fork's history.
    let inherited: string | undefined;
    const seen = new Set([fork.rel]);
    for (let link = bases.get(fork.rel), depth = 0; link && depth < 32; depth++) {
      const parentRel = relOfRollout(link.base_id);
      if (parentRel === undefined || seen.has(parentRel)) break;
      seen.add(parentRel);
      const hit = own.get(parentRel);
      if (hit && hit.end <= link.base_end) inherited = hit.text;
      else if (hit) {
        // The parent's first match lies past the fork point: look for one before it.
        const before = firstMatchBefore(ctx, parentRel, lower, cand, link.base_end);
        if (before !== null) inherited = before;
      }
      link = bases.get(parentRel);
    }
    if (inherited !== undefined) out.set(fork.rel, inherited);
  }
  return out;
}

function firstMatchBefore(
  ctx: IndexContext,
  rel: string,
  lower: string,
  cand: { where: string; arg: string },
  before: number,
): string | null {
  const rows = ctx
    .stmt(
      `SELECT mf.parts AS parts, m.text AS text FROM messages m JOIN message_files mf ON mf.rid = m.rowid
       WHERE mf.rel = ? AND ${cand.where} ORDER BY mf.rid`,
    )
    .all(rel, cand.arg) as { parts: string; text: string }[];
  for (const r of rows) {
    const hit = firstMatch(r, lower, before);
    if (hit) return hit.text;
  }
  return null;
}

/** The match with up to ~60 characters of context on each side. */
export function snippetOf(text: string, term: string): string {
  const at = text.toLowerCase().indexOf(term.toLowerCase());
  const flat = (s: string): string => s.replace(/\s+/g, ' ');
  if (at < 0) return flat(text.length > 160 ? `${text.slice(0, 160)}…` : text);
  const from = Math.max(0, at - 60);
  const to = Math.min(text.length, at + term.length + 60);
  return `${from > 0 ? '…' : ''}${flat(text.slice(from, to))}${to < text.length ? '…' : ''}`;
}
