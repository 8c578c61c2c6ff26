import WebSocket from 'ws';

/** A JSON-RPC error answered by the server. */
export class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

/** A minimal app-server client over WebSocket for tests: requests, and every notification kept. */
export class WsClient {
  readonly notifications: { method: string; params: any }[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private waiters: { method: string; match: (p: any) => boolean; resolve: (p: any) => void }[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as {
        id?: number;
        method?: string;
        params?: any;
        result?: any;
        error?: any;
      };
      if (msg.method !== undefined) {
        this.notifications.push({ method: msg.method, params: msg.params });
        const ready = this.waiters.filter((w) => w.method === msg.method && w.match(msg.params));
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        for (const w of ready) w.resolve(msg.params);
        return;
      }
      const p = this.pending.get(msg.id as number);
      if (!p) return;
      this.pending.delete(msg.id as number);
      if (msg.error) p.reject(new RpcFailure(msg.error.code, msg.error.message, msg.error.data));
      else p.resolve(msg.result);
    });
  }

  static async open(url: string, headers: Record<string, string> = {}, initialize = true): Promise<WsClient> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    const client = new WsClient(ws);
    if (initialize) {
      await client.request('initialize', { clientInfo: { name: 'skein_test', title: null, version: '0' } });
      client.ws.send(JSON.stringify({ method: 'initialized' }));
    }
    return client;
  }

  request<T = any>(method: string, params?: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  /** Sends a raw text frame (for malformed input). */
  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** The first notification (seen or future) with this method that passes `match`. */
  waitFor(method: string, match: (p: any) => boolean = () => true): Promise<any> {
    const seen = this.notifications.find((n) => n.method === method && match(n.params));
    if (seen) return Promise.resolve(seen.params);
    return new Promise((resolve) => this.waiters.push({ method, match, resolve }));
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
