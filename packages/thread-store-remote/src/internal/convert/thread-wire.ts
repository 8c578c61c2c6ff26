import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { StoredThread as ApiStoredThread } from '@skein/thread-store-api';
import { isThreadStoreError, ThreadStoreError } from '@skein/thread-store-api';
import { SessionSourceSchema } from '../../gen/skein/threadstore/v1/types_pb.js';
import type { GitInfo, SessionSource, StoredThread, TokenUsage } from '../../gen/skein/threadstore/v1/types_pb.js';
import { historyModeToProto, memoryModeToProto } from './enums.js';
import { jsonBytes } from './json-bytes.js';
import { sessionSourceToProto } from './session-source.js';

// The hot answer (a page of threads) written straight to protobuf bytes, and read straight from
// them, without building message objects and walking them by reflection. The bytes are those
// `toBinary(StoredThreadSchema, storedThreadToProto(t))` gives (fields in number order, proto3
// defaults left out), which test/thread-wire.test.ts checks field by field.

const LEN = WireType.LengthDelimited;
const VARINT = WireType.Varint;

/**
 * Protobuf fields written into one growing buffer: strings go straight from their text to the
 * buffer (short ones by a loop, long ones by `Buffer.write`), with no per-field allocation.
 */
class WireWriter {
  buf = Buffer.allocUnsafe(8192);
  at = 0;

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** A varint of a non-negative safe integer. */
  varint(n: number): void {
    this.room(10);
    const buf = this.buf;
    let at = this.at;
    while (n >= 128) {
      buf[at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    buf[at++] = n;
    this.at = at;
  }

  tag(no: number, wireType: WireType): void {
    this.varint((no << 3) | wireType);
  }

  /** An int64 varint; a negative value takes ten bytes (two's complement), as protobuf writes it. */
  int64(n: number): void {
    if (n >= 0) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(n));
    this.room(10);
    while (v >= 128n) {
      this.buf[this.at++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.at++] = Number(v);
  }

  /** A length-delimited string field's length and UTF-8 bytes. */
  string(s: string): void {
    // At most 3 bytes per UTF-16 unit: below 43 units the length is one varint byte, known after.
    if (s.length < 43) {
      this.room(1 + 3 * s.length);
      const buf = this.buf;
      const lenAt = this.at;
      let at = lenAt + 1;
      for (let i = 0; i < s.length; i++) {
        let c = s.charCodeAt(i);
        if (c < 0x80) buf[at++] = c;
        else if (c < 0x800) {
          buf[at++] = 0xc0 | (c >> 6);
          buf[at++] = 0x80 | (c & 63);
        } else {
          if (c >= 0xd800 && c <= 0xdfff) {
            const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
            if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
              c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
              i++;
              buf[at++] = 0xf0 | (c >> 18);
              buf[at++] = 0x80 | ((c >> 12) & 63);
              buf[at++] = 0x80 | ((c >> 6) & 63);
              buf[at++] = 0x80 | (c & 63);
              continue;
            }
            // A lone surrogate is written as U+FFFD, as TextEncoder does.
            c = 0xfffd;
          }
          buf[at++] = 0xe0 | (c >> 12);
          buf[at++] = 0x80 | ((c >> 6) & 63);
          buf[at++] = 0x80 | (c & 63);
        }
      }
      buf[lenAt] = at - lenAt - 1;
      this.at = at;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.room(n);
    this.at += this.buf.write(s, this.at, n, 'utf8');
  }

  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** Starts a length-delimited message: returns where its body starts (after a 5-byte gap). */
  fork(): number {
    this.room(5);
    this.at += 5;
    return this.at;
  }

  /** Ends a message started by `fork`: writes its length before it, closing the gap. */
  join(start: number): void {
    const len = this.at - start;
    let lenBytes = 1;
    for (let n = len; n >= 128; n = Math.floor(n / 128)) lenBytes++;
    const lenAt = start - 5;
    if (lenBytes < 5) this.buf.copy(this.buf, lenAt + lenBytes, start, this.at);
    let n = len;
    let at = lenAt;
    while (n >= 128) {
      this.buf[at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[at] = n;
    this.at = lenAt + lenBytes + len;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }
}

/** Epoch milliseconds of a Date, refusing an invalid one like `msOf`. */
function ms(date: Date, what: string): number {
  const t = date instanceof Date ? date.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw ThreadStoreError.invalidRequest(`${what} must be a valid Date`);
  return t;
}

function count(n: number, what: string): number {
  if (!Number.isSafeInteger(n)) throw ThreadStoreError.invalidRequest(`${what} must be an integer, got ${String(n)}`);
  return n;
}

/** A proto3 string without presence: written unless empty. */
function str(w: WireWriter, no: number, v: string): void {
  if (v === '') return;
  w.tag(no, LEN);
  w.string(v);
}

/** A proto3 `optional string` for an API `string | null`: written when not null. */
function opt(w: WireWriter, no: number, v: string | null | undefined): void {
  if (v == null) return;
  w.tag(no, LEN);
  w.string(v);
}

function int64(w: WireWriter, no: number, v: number): void {
  if (v === 0) return;
  w.tag(no, VARINT);
  w.int64(v);
}

/** The session sources without a payload encode the same every time: done once per kind. */
const simpleSources = new Map<string, Uint8Array>();
const SIMPLE_KINDS = new Set(['cli', 'vscode', 'exec', 'mcp']);

function sessionSourceBytes(source: ApiStoredThread['source']): Uint8Array {
  const kind = typeof source === 'object' && source !== null ? source.kind : undefined;
  if (kind !== undefined && SIMPLE_KINDS.has(kind)) {
    let bytes = simpleSources.get(kind);
    if (bytes === undefined) {
      bytes = toBinary(SessionSourceSchema, sessionSourceToProto(source));
      simpleSources.set(kind, bytes);
    }
    return bytes;
  }
  return toBinary(SessionSourceSchema, sessionSourceToProto(source));
}

/** Writes a StoredThread message's fields (every API field but `rolloutPath`). */
function writeStoredThread(w: WireWriter, t: ApiStoredThread): void {
  str(w, 1, t.threadId);
  str(w, 2, t.sessionId);
  opt(w, 3, t.forkedFromId);
  opt(w, 4, t.parentThreadId);
  str(w, 5, t.preview);
  opt(w, 6, t.name);
  str(w, 7, t.modelProvider);
  opt(w, 8, t.model);
  opt(w, 9, t.reasoningEffort);
  int64(w, 10, ms(t.createdAt, 'createdAt'));
  int64(w, 11, ms(t.updatedAt, 'updatedAt'));
  int64(w, 12, ms(t.recencyAt, 'recencyAt'));
  // Optional: written even when zero.
  if (t.archivedAt !== null) {
    w.tag(13, VARINT);
    w.int64(ms(t.archivedAt, 'archivedAt'));
  }
  str(w, 14, t.cwd);
  str(w, 15, t.cliVersion);
  w.tag(16, LEN);
  w.bytes(sessionSourceBytes(t.source));
  opt(w, 17, t.threadSource);
  opt(w, 18, t.agentNickname);
  opt(w, 19, t.agentRole);
  opt(w, 20, t.agentPath);
  if (t.gitInfo !== null) {
    w.tag(21, LEN);
    const at = w.fork();
    opt(w, 1, t.gitInfo.sha);
    opt(w, 2, t.gitInfo.branch);
    opt(w, 3, t.gitInfo.originUrl);
    w.join(at);
  }
  opt(w, 22, t.approvalMode);
  if (t.sandboxPolicy !== undefined) {
    w.tag(23, LEN);
    w.bytes(jsonBytes(t.sandboxPolicy, 'sandboxPolicy'));
  }
  if (t.tokenUsage !== null) {
    const u = t.tokenUsage;
    w.tag(24, LEN);
    const at = w.fork();
    int64(w, 1, count(u.inputTokens, 'tokenUsage.inputTokens'));
    int64(w, 2, count(u.cachedInputTokens, 'tokenUsage.cachedInputTokens'));
    int64(w, 3, count(u.outputTokens, 'tokenUsage.outputTokens'));
    int64(w, 4, count(u.reasoningOutputTokens, 'tokenUsage.reasoningOutputTokens'));
    int64(w, 5, count(u.totalTokens, 'tokenUsage.totalTokens'));
    w.join(at);
  }
  opt(w, 25, t.firstUserMessage);
  const history = historyModeToProto(t.historyMode);
  if (history !== 0) {
    w.tag(26, VARINT);
    w.varint(history);
  }
  const memory = memoryModeToProto(t.memoryMode);
  if (memory !== 0) {
    w.tag(27, VARINT);
    w.varint(memory);
  }
}

/** The protobuf bytes of a StoredThread message (what `storedThreadToProto` then `toBinary` give). */
export function storedThreadBytes(t: ApiStoredThread): Uint8Array {
  const w = new WireWriter();
  writeStoredThread(w, t);
  return w.finish();
}

/**
 * The entries of a repeated StoredThread field, written ahead as bytes, for a message's
 * `$unknown` list: `toBinary` writes each one's tag, then its data (the length and the message).
 * The first entry's data holds every thread (each but the first with its own tag), so the page
 * is one buffer. Binary protocols only: JSON serialisation does not write such entries.
 */
export function storedThreadFields(
  no: number,
  threads: readonly ApiStoredThread[],
): { no: number; wireType: WireType; data: Uint8Array }[] {
  if (threads.length === 0) return [];
  const w = new WireWriter();
  for (let i = 0; i < threads.length; i++) {
    if (i > 0) w.tag(no, LEN);
    const at = w.fork();
    writeStoredThread(w, threads[i]!);
    w.join(at);
  }
  return [{ no, wireType: LEN, data: w.finish() }];
}

/** A message's fields the decoder did not know (its `$unknown` list), as protobuf-es keeps them. */
export type RawFields = readonly { no: number; wireType: WireType; data: Uint8Array }[] | undefined;

function wrongWire(what: string): ThreadStoreError {
  return ThreadStoreError.internal(`the remote thread store sent a malformed ${what}`);
}

/** Reads a length-delimited field's data (its length, then its bytes) as its bytes. */
function delimited(f: { wireType: WireType; data: Uint8Array }, what: string): Uint8Array {
  if (f.wireType !== LEN) throw wrongWire(what);
  return new BinaryReader(f.data).bytes();
}

/** The session sources of a page are mostly the same few bytes: decoded once per distinct value. */
const decodedSources = new Map<string, SessionSource>();

function sessionSourceOf(bytes: Uint8Array): SessionSource {
  if (bytes.length > 16) return fromBinary(SessionSourceSchema, bytes);
  const key = String.fromCharCode(...bytes);
  let source = decodedSources.get(key);
  if (source === undefined) {
    source = fromBinary(SessionSourceSchema, bytes);
    if (decodedSources.size < 64) decodedSources.set(key, source);
  }
  return source;
}

function readGitInfo(r: BinaryReader, end: number): GitInfo {
  const out = { $typeName: 'skein.threadstore.v1.GitInfo' } as GitInfo;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no >= 1 && no <= 3 && wt === LEN) {
      const v = r.string();
      if (no === 1) out.sha = v;
      else if (no === 2) out.branch = v;
      else out.originUrl = v;
    } else r.skip(wt, no);
  }
  return out;
}

function readTokenUsage(r: BinaryReader, end: number): TokenUsage {
  const out = {
    $typeName: 'skein.threadstore.v1.TokenUsage',
    inputTokens: 0n,
    cachedInputTokens: 0n,
    outputTokens: 0n,
    reasoningOutputTokens: 0n,
    totalTokens: 0n,
  } as TokenUsage;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    if (no >= 1 && no <= 5 && wt === VARINT) {
      const v = r.int64() as bigint;
      if (no === 1) out.inputTokens = v;
      else if (no === 2) out.cachedInputTokens = v;
      else if (no === 3) out.outputTokens = v;
      else if (no === 4) out.reasoningOutputTokens = v;
      else out.totalTokens = v;
    } else r.skip(wt, no);
  }
  return out;
}

/**
 * A StoredThread message from its bytes, read field by field: the object `fromBinary` gives for
 * every field `storedThreadFromProto` reads. Fields of unknown numbers are skipped; a known field
 * with the wrong wire type is a malformed answer.
 */
export function storedThreadFromBytes(bytes: Uint8Array): StoredThread {
  const out = {
    $typeName: 'skein.threadstore.v1.StoredThread',
    threadId: '',
    sessionId: '',
    preview: '',
    modelProvider: '',
    createdAtMs: 0n,
    updatedAtMs: 0n,
    recencyAtMs: 0n,
    cwd: '',
    cliVersion: '',
    historyMode: 0,
    memoryMode: 0,
  } as unknown as StoredThread;
  const r = new BinaryReader(bytes);
  const end = bytes.length;
  while (r.pos < end) {
    const [no, wt] = r.tag();
    const want = STORED_THREAD_WIRE[no];
    if (want === undefined) {
      r.skip(wt, no);
      continue;
    }
    if (want !== wt) throw wrongWire(`thread (field ${no})`);
    switch (no) {
      case 1:
        out.threadId = r.string();
        break;
      case 2:
        out.sessionId = r.string();
        break;
      case 3:
        out.forkedFromId = r.string();
        break;
      case 4:
        out.parentThreadId = r.string();
        break;
      case 5:
        out.preview = r.string();
        break;
      case 6:
        out.name = r.string();
        break;
      case 7:
        out.modelProvider = r.string();
        break;
      case 8:
        out.model = r.string();
        break;
      case 9:
        out.reasoningEffort = r.string();
        break;
      case 10:
        out.createdAtMs = r.int64() as bigint;
        break;
      case 11:
        out.updatedAtMs = r.int64() as bigint;
        break;
      case 12:
        out.recencyAtMs = r.int64() as bigint;
        break;
      case 13:
        out.archivedAtMs = r.int64() as bigint;
        break;
      case 14:
        out.cwd = r.string();
        break;
      case 15:
        out.cliVersion = r.string();
        break;
      case 16:
        out.source = sessionSourceOf(r.bytes());
        break;
      case 17:
        out.threadSource = r.string();
        break;
      case 18:
        out.agentNickname = r.string();
        break;
      case 19:
        out.agentRole = r.string();
        break;
      case 20:
        out.agentPath = r.string();
        break;
      case 21: {
        const len = r.uint32();
        out.gitInfo = readGitInfo(r, r.pos + len);
        break;
      }
      case 22:
        out.approvalMode = r.string();
        break;
      case 23:
        out.sandboxPolicyJson = r.bytes();
        break;
      case 24: {
        const len = r.uint32();
        out.tokenUsage = readTokenUsage(r, r.pos + len);
        break;
      }
      case 25:
        out.firstUserMessage = r.string();
        break;
      case 26:
        out.historyMode = r.int32();
        break;
      case 27:
        out.memoryMode = r.int32();
        break;
    }
  }
  if (r.pos !== end) throw wrongWire('thread');
  return out;
}

/** The wire type of each StoredThread field, by number. */
const STORED_THREAD_WIRE: Record<number, WireType> = {};
for (let no = 1; no <= 27; no++) STORED_THREAD_WIRE[no] = LEN;
for (const no of [10, 11, 12, 13, 26, 27]) STORED_THREAD_WIRE[no] = VARINT;

/**
 * A ListThreadsResponse read from its fields as raw bytes (the answer decoded as a message without
 * fields): its threads, as `fromBinary` would give them, and its cursors.
 */
export function threadPageFromFields(fields: RawFields): {
  threads: StoredThread[];
  nextCursor?: string;
  backwardsCursor?: string;
} {
  try {
    return readThreadPage(fields);
  } catch (e) {
    throw isThreadStoreError(e)
      ? e
      : ThreadStoreError.internal(
          `the remote thread store sent a malformed page of threads: ${(e as Error).message}`,
          e,
        );
  }
}

function readThreadPage(fields: RawFields): { threads: StoredThread[]; nextCursor?: string; backwardsCursor?: string } {
  const out: { threads: StoredThread[]; nextCursor?: string; backwardsCursor?: string } = { threads: [] };
  for (const f of fields ?? []) {
    if (f.no === 1) out.threads.push(storedThreadFromBytes(delimited(f, 'page of threads')));
    else if (f.no === 2 || f.no === 3) {
      const text = new BinaryReader(f.data);
      if (f.wireType !== LEN) throw wrongWire('page cursor');
      if (f.no === 2) out.nextCursor = text.string();
      else out.backwardsCursor = text.string();
    }
  }
  return out;
}
