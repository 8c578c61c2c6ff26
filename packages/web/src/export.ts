import { api } from './api.js';
import { title } from './format.js';
import { SortDirection, TurnItemsView } from './gen/skein/threadstore/v1/thread_store_pb.js';
import type { StoredThread } from './gen/skein/threadstore/v1/types_pb.js';
import { itemJson, itemText } from './Items.js';

function download(name: string, type: string, parts: BlobPart[]): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The rollout as Codex stores it: one JSON item per line, streamed from the server in chunks. */
export async function exportJsonl(t: StoredThread): Promise<void> {
  const parts: BlobPart[] = [];
  const decoder = new TextDecoder();
  for await (const r of api.loadHistory({ threadId: t.threadId, includeArchived: true }))
    for (const bytes of r.chunk?.itemsJson ?? []) parts.push(decoder.decode(bytes), '\n');
  download(`${t.threadId}.jsonl`, 'application/jsonl', parts);
}

/** The conversation as Markdown: each turn's messages, reasoning and tool calls, page by page. */
export async function exportMarkdown(t: StoredThread): Promise<void> {
  const parts: string[] = [`# ${title(t)}\n\n`, `Thread \`${t.threadId}\` · ${t.cwd}\n`];
  let cursor = '';
  let n = 0;
  do {
    const page = await api.listTurns({
      threadId: t.threadId,
      includeArchived: true,
      pageSize: 50,
      sortDirection: SortDirection.ASC,
      itemsView: TurnItemsView.FULL,
      ...(cursor ? { cursor } : {}),
    });
    for (const turn of page.turns) {
      parts.push(`\n## Turn ${++n}\n`);
      for (const i of turn.items) {
        const it = itemJson(i.itemJson);
        const who =
          it.type === 'userMessage' ? 'User' : it.type === 'agentMessage' ? 'Assistant' : String(it.type ?? 'item');
        const text = itemText(it);
        parts.push(
          it.type === 'userMessage' || it.type === 'agentMessage' || it.type === 'reasoning'
            ? `\n**${who}:**\n\n${text}\n`
            : `\n**${who}:**\n\n\`\`\`json\n${text}\n\`\`\`\n`,
        );
      }
      if (turn.error) parts.push(`\n_Failed: ${turn.error.message}_\n`);
    }
    cursor = page.nextCursor ?? '';
  } while (cursor);
  download(`${t.threadId}.md`, 'text/markdown', parts);
}
