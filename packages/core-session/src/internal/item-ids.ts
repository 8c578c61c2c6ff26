import { newThreadId, TurnList, TurnProjector } from '@skein/thread-store-api';
import type { HistoryMode, RolloutItem } from '@skein/thread-store-api';

/**
 * The ids readers give the items a session records, so that the live events carry the ids
 * `thread/read`, `thread/turns/list` and `thread/items/list` return later (as Codex does for
 * paginated threads).
 *
 * - **paginated**: the id is written into the item's `item_completed` line. The user message gets
 *   a new UUIDv7 chosen once; a model output keeps the model's id (`msg_…`, `rs_…`), or, when the
 *   model gave none, the same prefix with a new UUIDv7.
 * - **legacy**: the lines carry no ids, and every reader (Codex's and each Skein store's) numbers
 *   the items `item-1`, `item-2`, … through the thread. The ids are therefore the numbers the
 *   projection of the thread's history gives them: the history is projected once, and every
 *   recorded batch after it.
 */
export class ItemIds {
  private readonly projector: TurnProjector | null;

  constructor(
    readonly mode: HistoryMode,
    history: readonly RolloutItem[],
  ) {
    if (mode === 'paginated') {
      this.projector = null;
      return;
    }
    this.projector = new TurnProjector(new TurnList());
    this.recorded(history);
  }

  /** The number the last recorded batch started at (legacy). */
  private numberBefore = 0;

  /** Follows what was recorded (legacy threads number their items from it). */
  recorded(items: readonly RolloutItem[]): void {
    if (!this.projector) return;
    this.numberBefore = this.projector.state.nextItemIndex;
    for (const item of items) this.projector.observe(item);
  }

  /**
   * The id of the next item of `kind` to be recorded. `modelId`: the model's id of an output item.
   * In a legacy thread this is the next number; `recordedId` confirms it once the item is recorded.
   */
  next(kind: 'user' | 'message' | 'reasoning', modelId: string | null = null): string {
    if (this.projector) return `item-${this.projector.state.nextItemIndex}`;
    if (kind === 'user') return newThreadId();
    if (modelId !== null && modelId !== '') return modelId;
    return `${kind === 'message' ? 'msg' : 'rs'}_${newThreadId()}`;
  }

  /**
   * The id the last recorded item got: `chosen` in a paginated thread (the id written into it);
   * in a legacy one the number the batch gave it (a reasoning line right after another extends
   * that item, so it has that item's number).
   */
  recordedId(chosen: string): string {
    if (!this.projector) return chosen;
    const s = this.projector.state;
    // Numbered by this batch, or a reasoning line that extended the item before it.
    if (s.nextItemIndex > this.numberBefore || s.current?.lastReasoning === true) return `item-${s.nextItemIndex - 1}`;
    // Not an item for readers (an empty message): nothing will be read back under any id.
    return chosen;
  }
}
