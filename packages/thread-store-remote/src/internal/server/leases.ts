/**
 * Which client owns each live writer. A client renews its lease with every call and with
 * heartbeats; a client silent for longer than the lease loses its writers, which the server then
 * flushes and closes so another client can resume the thread.
 */
export interface ExpiredWriter {
  tenant: string;
  clientId: string;
  threadId: string;
}

interface ClientState {
  lastSeen: number;
  threads: Set<string>;
}

const key = (tenant: string, id: string): string => `${tenant}\u0000${id}`;

export class LeaseTable {
  private readonly owners = new Map<string, { tenant: string; clientId: string; threadId: string }>();
  private readonly clients = new Map<string, ClientState>();
  /** Writers closed by expiry, remembered (bounded) to explain a late call from their old owner. */
  private readonly expired = new Map<string, string>();

  constructor(
    readonly leaseMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  touch(tenant: string, clientId: string | null): void {
    if (clientId === null) return;
    const c = this.clients.get(key(tenant, clientId));
    if (c) c.lastSeen = this.now();
  }

  owner(tenant: string, threadId: string): string | undefined {
    return this.owners.get(key(tenant, threadId))?.clientId;
  }

  acquire(tenant: string, clientId: string, threadId: string): void {
    this.release(tenant, threadId);
    const ck = key(tenant, clientId);
    let c = this.clients.get(ck);
    if (!c) {
      c = { lastSeen: this.now(), threads: new Set() };
      this.clients.set(ck, c);
    }
    c.lastSeen = this.now();
    c.threads.add(threadId);
    this.owners.set(key(tenant, threadId), { tenant, clientId, threadId });
    this.expired.delete(key(tenant, threadId));
  }

  release(tenant: string, threadId: string): void {
    const tk = key(tenant, threadId);
    const o = this.owners.get(tk);
    if (!o) return;
    this.owners.delete(tk);
    const ck = key(tenant, o.clientId);
    const c = this.clients.get(ck);
    c?.threads.delete(threadId);
    if (c && c.threads.size === 0) this.clients.delete(ck);
  }

  /** Live writers leased to any client. */
  count(): number {
    return this.owners.size;
  }

  liveWriters(tenant: string, clientId: string): number {
    return this.clients.get(key(tenant, clientId))?.threads.size ?? 0;
  }

  /** The id of the client whose expired lease closed this thread's writer, if that was the last event. */
  expiredOwner(tenant: string, threadId: string): string | undefined {
    return this.expired.get(key(tenant, threadId));
  }

  /** Removes and returns the writers of every client silent for longer than the lease. */
  sweep(): ExpiredWriter[] {
    const deadline = this.now() - this.leaseMs;
    const out: ExpiredWriter[] = [];
    for (const o of this.owners.values()) {
      const c = this.clients.get(key(o.tenant, o.clientId));
      if (c && c.lastSeen < deadline) out.push({ ...o });
    }
    for (const w of out) {
      this.release(w.tenant, w.threadId);
      this.expired.set(key(w.tenant, w.threadId), w.clientId);
      if (this.expired.size > 10_000) {
        const first = this.expired.keys().next();
        if (!first.done) this.expired.delete(first.value);
      }
    }
    return out;
  }

  /** Removes and returns every writer (graceful shutdown). */
  drainAll(): ExpiredWriter[] {
    const out = [...this.owners.values()].map((o) => ({ ...o }));
    this.owners.clear();
    this.clients.clear();
    return out;
  }
}
