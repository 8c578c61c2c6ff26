import { agentMessageText, userMessageText } from '../rollout-item.js';
import type { RolloutItem } from '../rollout-item.js';

const BEFORE = 40;
const AFTER = 80;

/** The text around the first case-insensitive match of `term`, with ellipses where cut. */
export function snippetAround(text: string, term: string): string | undefined {
  const at = text.toLowerCase().indexOf(term.toLowerCase());
  if (at < 0) return undefined;
  const from = Math.max(0, at - BEFORE);
  const to = Math.min(text.length, at + term.length + AFTER);
  return `${from > 0 ? '…' : ''}${text.slice(from, to)}${to < text.length ? '…' : ''}`;
}

/** A snippet from the first user or agent message of `items` that contains `term`. */
export function findMessageSnippet(items: Iterable<RolloutItem>, term: string): string | undefined {
  for (const item of items) {
    const text = userMessageText(item) ?? agentMessageText(item);
    if (text === undefined) continue;
    const s = snippetAround(text, term);
    if (s !== undefined) return s;
  }
  return undefined;
}
