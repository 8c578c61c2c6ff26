import * as zlib from 'node:zlib';

/**
 * Codex may zstd-compress request bodies for some providers. Node 20 has no zstd in zlib
 * (it arrived in Node 22.15), so decompress when the runtime can and fail clearly otherwise.
 */
export function zstdDecompressIfAvailable(raw: Buffer): Buffer {
  const fn = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync;
  if (typeof fn !== 'function') {
    throw new Error(
      'request body is zstd-compressed and this Node has no zstd; use a provider without request compression',
    );
  }
  return fn(raw);
}
