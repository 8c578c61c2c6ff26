/**
 * The benchmark driver behind `pnpm bench` (run through tools/bench/run.mjs).
 *
 *   pnpm bench [-- options]
 *     --sizes 1000,10000     thread counts (100000 is opt-in: it takes long)
 *     --skip-codex           do not run the real codex app-server side by side
 *     --skip-single          skip the large-thread read and the append/flush workloads
 *     --skip-remote          do not run packages/thread-store-remote/bench
 *     --only-single          only the large-thread read and the append/flush workloads
 *     --dir DIR              where homes are generated and cached (default: $TMPDIR/skein-bench)
 *     --big-mb 100           size of the large thread (a 10 MB one is read too, for comparison)
 *     --append-items 200000  items per append workload
 *     --paging-budget-s 900  stop paging (Codex or Skein) after this long and extrapolate
 *     --seed 1               generator seed
 *     --no-write             print the tables, leave BENCHMARKS.md and results.json alone
 *     --render-only          measure nothing: re-render BENCHMARKS.md from results.json
 *     --load                 also the write load through `skein serve` (load.ts: 20 clients, batches
 *                            of 5, a flush each, while another client lists)
 *     --postgres URL         also the PostgreSQL store beside the local one (postgres.ts), in a
 *                            database created for the run on the server URL names
 *     --postgres-threads N   threads for it (default 100000)
 *     --only-extra           only the sections --load and --postgres ask for
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runAppend, type AppendResult } from './append.js';
import { codexVersion } from './app-server-client.js';
import { runCodexList, type CodexListResult } from './codex-list.js';
import { heapCapProof, measureHistory, type HeapCapResult, type HistoryResult } from './history.js';
import { ensureBigThread, ensureHome, log, resetHome, warmPageCache } from './homes.js';
import { describeMachine, gitRevision } from './machine.js';
import { runLoad } from './load.js';
import { postgresTable, runPostgresBench } from './postgres.js';
import { runRemoteBench } from './remote.js';
import { globalEntry, globalTable, loadResults, renderMarkdown, saveResults, sizeEntry, sizeTable } from './report.js';
import { runSkeinList } from './skein-list.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Options {
  sizes: number[];
  skipCodex: boolean;
  skipSingle: boolean;
  skipRemote: boolean;
  onlySingle: boolean;
  dir: string;
  bigMb: number;
  appendItems: number;
  codexBudgetMs: number;
  seed: number;
  write: boolean;
  renderOnly: boolean;
  load: boolean;
  onlyExtra: boolean;
  postgres: string | null;
  postgresThreads: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    sizes: [1000, 10_000],
    skipCodex: false,
    skipSingle: false,
    skipRemote: false,
    onlySingle: false,
    dir: path.join(os.tmpdir(), 'skein-bench'),
    bigMb: 100,
    appendItems: 200_000,
    codexBudgetMs: 900_000,
    seed: 1,
    write: true,
    renderOnly: false,
    load: false,
    onlyExtra: false,
    postgres: null,
    postgresThreads: 100_000,
  };
  const args = argv.filter((a) => a !== '--');
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--sizes':
        o.sizes = val()
          .split(',')
          .map((s) => Number(s.replace(/_/g, '').replace(/k$/i, '000')))
          .filter((n) => Number.isInteger(n) && n > 0);
        break;
      case '--skip-codex':
        o.skipCodex = true;
        break;
      case '--skip-single':
        o.skipSingle = true;
        break;
      case '--skip-remote':
        o.skipRemote = true;
        break;
      case '--only-single':
        o.onlySingle = true;
        break;
      case '--dir':
        o.dir = path.resolve(val());
        break;
      case '--big-mb':
        o.bigMb = Number(val());
        break;
      case '--append-items':
        o.appendItems = Number(val());
        break;
      case '--paging-budget-s':
        o.codexBudgetMs = Number(val()) * 1000;
        break;
      case '--seed':
        o.seed = Number(val());
        break;
      case '--render-only':
        o.renderOnly = true;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--load':
        o.load = true;
        break;
      case '--postgres':
        o.postgres = val();
        break;
      case '--postgres-threads':
        o.postgresThreads = Number(val());
        break;
      case '--only-extra':
        o.onlyExtra = true;
        o.onlySingle = true;
        o.skipSingle = true;
        o.skipRemote = true;
        break;
      default:
        throw new Error(`unknown option ${a}; see the header of tools/bench/main.ts`);
    }
  }
  return o;
}

const NOTES = `## How it is measured

- **Homes.** \`tools/bench/synth-home.ts\` writes N rollouts shaped like Codex 0.169 legacy-mode threads: a
  \`session_meta\` with 10–17 KB of base instructions, then 1–4 turns, each with \`task_started\`, \`turn_context\`,
  developer and user \`response_item\`s, the \`user_message\` event, reasoning (with its \`agent_reasoning\` event),
  1–2 \`function_call\` + \`function_call_output\` pairs, the assistant message and \`agent_message\`, \`token_count\` and
  \`task_complete\` (~34 KB per thread on average). Creation times are spread over 240 days into
  \`sessions/YYYY/MM/DD/rollout-<local time>-<uuidv7>.jsonl\`, each file's mtime is its last line's time, 2% of
  threads have a name in \`session_index.jsonl\`, sources are 85% \`cli\`, 10% \`vscode\`, 5% \`exec\`, providers 95%
  \`mock\` and 5% \`openai\`. The generator is seeded, so every run measures the same bytes. Homes are cached
  between runs in \`--dir\` and reset (every index or state DB removed) before use.
- **Same work on both sides.** Every listing asks for all three sources and all providers (Skein:
  \`allowedSources: ['cli','vscode','exec'], modelProviders: []\`; Codex: \`sourceKinds: ['cli','vscode','exec'],
  modelProviders: []\`), newest first by creation time, 50 per page. Rollouts are read once before the Codex run so
  both start from a warm page cache (dropping it needs root).
- **Codex.** The native \`codex\` 0.169.0 binary from \`@openai/codex\` (installed for \`packages/interop-tests\`),
  run as \`codex app-server\` with \`CODEX_HOME\` set to the home and an offline \`config.toml\` (section 8 of the format
  notes). Cold start is the time from spawn until \`initialize\` answers with no \`state_5.sqlite\` present: Codex
  indexes every rollout before it answers. Codex runs first on each home; Skein then runs on the same home, with
  Codex's state DB present as it would be in a real \`~/.codex\`.
- **Skein.** \`new LocalThreadStore({home, defaultModelProvider:'mock'})\` from the built package. Cold index is
  open + \`indexNow()\` with no index file (the index is deleted between runs). Incremental re-index appends one
  turn to every 100th rollout (and moves its mtime), opens a new store on the existing index and runs
  \`indexNow()\`; it then checks that exactly the grown threads come first by \`updatedAt\`, and undoes the appends.
- **History read** runs in a fresh Node process per measurement: \`readThread({threadId, includeHistory:true})\` and
  iterating the whole history, reporting bytes of the rollout ÷ time, with \`process.memoryUsage()\` sampled every
  5 ms and every 1,024 items. The proof that memory stays flat streams the whole thread again with the V8 heap
  capped far below the thread's size.
- **Appends** go to a new thread in a fresh home with \`fsync: 'always'\`; "buffered" means no flush until the
  end (the one final \`flushThread\` is included in the time). Flush latency is one append then one
  \`flushThread\`, repeated.
- Times are wall-clock (\`performance.now()\`) on a machine shared with other work, so expect ±10–20% between runs.
`;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  mkdirSync(opts.dir, { recursive: true });
  const machine = describeMachine(opts.dir);
  // SKEIN_BENCH_COMMIT labels a run made with SKEIN_BENCH_LOCAL_STORE pointing at another build.
  const commit = process.env.SKEIN_BENCH_COMMIT ?? gitRevision();
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
  const plain = `pnpm bench -- ${process.argv
    .slice(2)
    .filter((a) => a !== '--')
    .join(' ')}`
    .trim()
    .replace(/ --$/, '');
  const command = process.env.SKEIN_BENCH_LOCAL_STORE
    ? `SKEIN_BENCH_LOCAL_STORE=<a build of thread-store-local> ${plain}`
    : plain;
  const meta = { date, commit, command };
  const version = opts.skipCodex ? '' : codexVersion();
  log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}, node ${machine.node}; homes in ${opts.dir}`);

  const resultsFile = path.join(REPO, 'tools/bench/results.json');
  const results = loadResults(resultsFile, machine, opts.onlyExtra || opts.renderOnly);
  // A section measured alone names its machine when it is not the header's.
  const sameMachine = JSON.stringify(results.machine) === JSON.stringify(machine);
  const onMachine = sameMachine
    ? {}
    : { machine: `${machine.cpu}, ${machine.cores} cores, ${machine.memory}, ${machine.os}, disk ${machine.disk}` };
  const printed: string[] = [];
  if (opts.renderOnly) {
    opts.onlySingle = true;
    opts.skipSingle = true;
    opts.skipRemote = true;
  }

  if (!opts.onlySingle) {
    for (const n of opts.sizes) {
      log(`=== ${n} threads ===`);
      const load0 = os.loadavg()[0] ?? 0;
      const home = ensureHome(opts.dir, n, opts.seed);
      let codex: CodexListResult | null = null;
      if (!opts.skipCodex) {
        resetHome(home.dir);
        warmPageCache(home);
        codex = await runCodexList(home, opts.codexBudgetMs);
      }
      warmPageCache(home);
      const skein = await runSkeinList(home, n >= 100_000 ? 1 : 3, opts.codexBudgetMs);
      const entry = sizeEntry(n, home.bytes, meta, skein, codex, version);
      entry.load = `${load0.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}`;
      results.sizes[String(n)] = entry;
      const t = `### ${n.toLocaleString('en-US')} threads\n\n${sizeTable(entry)}\n`;
      printed.push(t);
      console.log(t);
      resetHome(home.dir);
      if (opts.write) await saveResults(resultsFile, results);
    }
  }

  if (!opts.skipSingle) {
    log('=== one large thread, and writes ===');
    const load0 = os.loadavg()[0] ?? 0;
    const history: HistoryResult[] = [];
    let heapCap: HeapCapResult | null = null;
    const small = ensureBigThread(opts.dir, 10);
    history.push(measureHistory(small, 10, 3));
    const big = ensureBigThread(opts.dir, opts.bigMb);
    history.push(measureHistory(big, opts.bigMb, 3));
    heapCap = heapCapProof(big, 48);
    resetHome(small.dir, new Set(['.big-10-v1']));
    resetHome(big.dir, new Set([`.big-${opts.bigMb}-v1`]));
    log('append and flush');
    const append: AppendResult = await runAppend(opts.dir, opts.appendItems, 500);
    const g = globalEntry(meta, history, heapCap, append);
    g.load = `${load0.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}`;
    results.global = g;
    const t = `### One large thread, and writes\n\n${globalTable(g)}\n`;
    printed.push(t);
    console.log(t);
  }

  if (!opts.skipRemote) {
    const remote = runRemoteBench();
    if (remote?.ok || (remote && !results.remote?.ok)) {
      results.remote = { ...remote, date, commit };
      console.log(`### Remote store\n\n${remote.output}\n`);
    } else if (remote) {
      // Keep the last good figures rather than replace them with a failure; the log says why.
      log(`  keeping the remote figures measured ${results.remote?.date ?? '?'}`);
    }
  }

  if (opts.load) {
    log('=== write load through skein serve ===');
    const r = await runLoad({ clients: 20, batch: 5, seconds: 10 });
    const body = [
      '| workload | items/s | flush p50 / p99 | `listThreads` p50 / p99 during the load | idle p50 / p99 | target |',
      '|---|---|---|---|---|---|',
      `| 20 clients, each appending batches of 5 with a flush after each, one more client listing (page of 25) | ${r.itemsPerSec.toLocaleString('en-US')} | ${r.flushP50Ms} / ${r.flushP99Ms} ms | ${r.listP50Ms} / ${r.listP99Ms} ms (${r.listCalls} calls) | ${r.idleListP50Ms} / ${r.idleListP99Ms} ms | 20k items/s, list p99 ≤ 20 ms |`,
    ].join('\n');
    results.extra = {
      ...results.extra,
      load: {
        title: 'Write load through `skein serve`',
        date,
        commit,
        command,
        load: `${r.loadavg1Before} → ${r.loadavg1After}`,
        ...onMachine,
        body,
      },
    };
    console.log(body);
  }

  if (opts.postgres !== null) {
    log(`=== PostgreSQL beside the local store, ${opts.postgresThreads} threads ===`);
    const r = await runPostgresBench({ url: opts.postgres, threads: opts.postgresThreads, appendSeconds: 10 });
    const body = postgresTable(r);
    results.extra = {
      ...results.extra,
      postgres: {
        title: 'PostgreSQL store (`@skein/thread-store-postgres`) beside the local store',
        date,
        commit,
        command: command.replace(opts.postgres, 'postgres://…'),
        load: r.load,
        ...onMachine,
        body,
      },
    };
    console.log(body);
  }

  if (opts.write) {
    await saveResults(resultsFile, results);
    // Hand-written analysis of the latest profiles, kept next to the driver (it names the commit it read).
    const findingsFile = path.join(REPO, 'tools/bench/findings.md');
    const findings = existsSync(findingsFile) ? `\n${readFileSync(findingsFile, 'utf8').trim()}\n` : '';
    writeFileSync(path.join(REPO, 'BENCHMARKS.md'), renderMarkdown(results, NOTES + findings));
    log('wrote BENCHMARKS.md and tools/bench/results.json');
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
