/**
 * Loads the built `@skein/thread-store-local` through its own package exports (the same entry a
 * user gets), without tools/ having to be a workspace package.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ThreadStore } from '@skein/thread-store-api';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface IndexProgress {
  [key: string]: unknown;
}

/** What the benchmarks use of LocalThreadStore, beyond the ThreadStore interface. */
export interface LocalStore extends ThreadStore {
  indexNow(options?: { rebuild?: boolean; onProgress?: (p: IndexProgress) => void }): Promise<unknown>;
}

export interface LocalStoreOptions {
  home: string;
  defaultModelProvider: string;
  fsync?: 'always' | 'never';
  maxBufferedBytes?: number;
}

type LocalStoreCtor = new (options: LocalStoreOptions) => LocalStore;

let ctor: LocalStoreCtor | undefined;

export async function loadLocalStore(): Promise<LocalStoreCtor> {
  if (ctor) return ctor;
  const pkgJson = path.join(REPO, 'packages/thread-store-local/package.json');
  let entry: string;
  try {
    // SKEIN_BENCH_LOCAL_STORE: another build of the package's entry (e.g. of a given commit).
    entry = process.env.SKEIN_BENCH_LOCAL_STORE ?? createRequire(pkgJson).resolve('@skein/thread-store-local');
  } catch (err) {
    throw new Error(
      `cannot resolve @skein/thread-store-local (build it: pnpm turbo run build --filter=@skein/thread-store-local...): ${String(err)}`,
    );
  }
  const mod = (await import(pathToFileURL(entry).href)) as { LocalThreadStore?: LocalStoreCtor };
  if (typeof mod.LocalThreadStore !== 'function') throw new Error(`${entry} does not export LocalThreadStore yet`);
  ctor = mod.LocalThreadStore;
  return ctor;
}

/** The thread-store-api module (for newThreadId and friends), resolved next to the local store. */
export async function loadApi(): Promise<typeof import('@skein/thread-store-api')> {
  const pkgJson = path.join(REPO, 'packages/thread-store-local/package.json');
  const entry = createRequire(pkgJson).resolve('@skein/thread-store-api');
  return (await import(pathToFileURL(entry).href)) as typeof import('@skein/thread-store-api');
}
