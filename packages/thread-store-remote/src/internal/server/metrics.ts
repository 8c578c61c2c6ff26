import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from the handler when Prometheus scrapes them. */
export interface MetricsSources {
  liveWriters(): number;
  openStreams(): number;
  inFlight(): number;
  /** The largest index lag among the open stores that report one, or undefined when none does. */
  indexLag(): { seconds: number; pendingFiles: number } | undefined;
}

/** Latency buckets (seconds): from a cached listing to a flush of a large batch. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The server's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * two servers in one process do not mix their figures). Labels carry the method and the answer's
 * code, never a tenant, a client or a thread: the endpoint needs no authentication.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'method' | 'code'>;
  private readonly duration: Histogram<'method' | 'code'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.calls = new Counter({
      name: 'skein_rpc_calls_total',
      help: 'Calls served, by method and answer code (ok, cancelled, or a ThreadStoreError code).',
      labelNames: ['method', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'skein_rpc_duration_seconds',
      help: 'Time from the start of a call to its answer (to the end of the stream for history streams).',
      labelNames: ['method', 'code'],
      buckets: BUCKETS,
      registers,
    });
    new Gauge({
      name: 'skein_live_writers',
      help: 'Live writers (threads open for appending) leased to clients.',
      registers,
      collect() {
        this.set(sources.liveWriters());
      },
    });
    new Gauge({
      name: 'skein_open_streams',
      help: 'History streams (LoadHistory, ReadThread) being served.',
      registers,
      collect() {
        this.set(sources.openStreams());
      },
    });
    new Gauge({
      name: 'skein_calls_in_flight',
      help: 'Calls being served.',
      registers,
      collect() {
        this.set(sources.inFlight());
      },
    });
    new Gauge({
      name: 'skein_index_lag_seconds',
      help: 'How long the oldest change to the rollout files has waited for the index (largest over the open stores that report it; absent when none does).',
      registers,
      collect() {
        const lag = sources.indexLag();
        // No store reports a lag (or none yet): no sample, rather than a 0 that claims "caught up".
        if (lag) this.set(lag.seconds);
        else this.remove();
      },
    });
    new Gauge({
      name: 'skein_index_pending_files',
      help: 'Rollout files changed that the index has not taken yet (sum over the open stores that report it; absent when none does).',
      registers,
      collect() {
        const lag = sources.indexLag();
        if (lag) this.set(lag.pendingFiles);
        else this.remove();
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one finished call. */
  observe(method: string, code: string, seconds: number): void {
    this.calls.inc({ method, code });
    this.duration.observe({ method, code }, seconds);
  }

  /** The text exposition format, for `GET /metrics`. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
