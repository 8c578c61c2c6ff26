// A server process whose store holds one synthetic thread with a huge history, generated item by
// item so the store itself holds nothing. Prints its URL; on a "report" line on stdin prints
// its memory growth as JSON. Run: node --import tsx big-history-server.ts <threadId> <items> <itemBytes>
import { createInterface } from 'node:readline';
import type {
  LoadHistoryParams,
  ReadThreadParams,
  RolloutItem,
  StoredThreadWithHistory,
  ThreadId,
} from '@skein/thread-store-api';
import { InMemoryThreadStore } from '@skein/thread-store-api';
import { startThreadStoreServer } from '../../src/index.js';
import { memoryProbe } from './memory-probe.js';

const [threadId, count, size] = [process.argv[2] as ThreadId, Number(process.argv[3]), Number(process.argv[4])];

async function* synthetic(): AsyncGenerator<RolloutItem> {
  for (let i = 0; i < count; i++) {
    yield {
      type: 'response_item',
      payload: {
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: `${i}:`.padEnd(size, 'x') }],
      },
    };
  }
}

class BigStore extends InMemoryThreadStore {
  override loadHistory(params: LoadHistoryParams): AsyncIterable<RolloutItem> {
    return params.threadId === threadId ? synthetic() : super.loadHistory(params);
  }
  override async readThread(params: ReadThreadParams): Promise<StoredThreadWithHistory> {
    if (params.threadId !== threadId) return super.readThread(params);
    const now = new Date();
    return {
      threadId,
      sessionId: threadId,
      forkedFromId: null,
      parentThreadId: null,
      preview: 'big',
      name: null,
      modelProvider: 'openai',
      model: null,
      reasoningEffort: null,
      createdAt: now,
      updatedAt: now,
      recencyAt: now,
      archivedAt: null,
      cwd: '/big',
      cliVersion: '',
      source: { kind: 'cli' },
      threadSource: null,
      agentNickname: null,
      agentRole: null,
      agentPath: null,
      gitInfo: null,
      approvalMode: null,
      sandboxPolicy: null,
      tokenUsage: null,
      firstUserMessage: 'big',
      historyMode: 'legacy',
      memoryMode: 'enabled',
      rolloutPath: null,
      ...(params.includeHistory ? { history: synthetic() } : {}),
    };
  }
}

const probe = memoryProbe();
const server = await startThreadStoreServer({ store: new BigStore(), logger: false });
process.stdout.write(`${server.url}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'report') process.stdout.write(`${JSON.stringify(probe.peak())}\n`);
  if (line === 'exit') break;
}
probe.stop();
await server.close();
process.stdin.destroy();
