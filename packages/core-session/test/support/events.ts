import type { Session, SessionEvent, SessionEventMsg } from '../../src/index.js';

/** Reads a session's events one by one. */
export class EventReader {
  private readonly it: AsyncIterator<SessionEvent>;
  readonly seen: SessionEvent[] = [];
  constructor(session: Session) {
    this.it = session.events()[Symbol.asyncIterator]();
  }
  async next(): Promise<SessionEvent | null> {
    const r = await this.it.next();
    if (r.done) return null;
    this.seen.push(r.value);
    return r.value;
  }
  /** Reads until an event of `type` (inclusive); returns the messages read. */
  async until(type: SessionEventMsg['type']): Promise<SessionEventMsg[]> {
    const out: SessionEventMsg[] = [];
    for (;;) {
      const ev = await this.next();
      if (!ev) throw new Error(`events ended before ${type}; saw ${out.map((m) => m.type).join(', ')}`);
      out.push(ev.msg);
      if (ev.msg.type === type) return out;
    }
  }
}

/** Event types with consecutive deltas collapsed, for sequence assertions. */
export function shape(msgs: readonly SessionEventMsg[]): string[] {
  const out: string[] = [];
  for (const m of msgs)
    if (!(m.type === 'agent_message_delta' && out.at(-1) === 'agent_message_delta')) out.push(m.type);
  return out;
}
