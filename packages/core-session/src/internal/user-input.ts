import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ThreadStoreError } from '@skein/thread-store-api';
import type { Op, UserInput } from '../session.js';

/** Checks an op before it is queued; `invalid_request` names what is wrong. */
export function validateOp(op: Op): void {
  if (typeof op !== 'object' || op === null)
    throw ThreadStoreError.invalidRequest('an op must be an object with a "type"');
  switch (op.type) {
    case 'user_turn': {
      if (!Array.isArray(op.items) || op.items.length === 0)
        throw ThreadStoreError.invalidRequest('a user_turn needs at least one input item');
      for (const item of op.items) {
        const ok =
          (item?.type === 'text' && typeof item.text === 'string') ||
          (item?.type === 'image' && typeof item.imageUrl === 'string' && item.imageUrl !== '') ||
          (item?.type === 'local_image' && typeof item.path === 'string' && item.path !== '');
        if (!ok)
          throw ThreadStoreError.invalidRequest(`invalid user input item ${JSON.stringify(item)?.slice(0, 200)}`);
      }
      return;
    }
    case 'set_name':
      if (op.name !== null && (typeof op.name !== 'string' || op.name.trim() === ''))
        throw ThreadStoreError.invalidRequest('a thread name must be a non-empty string (or null to clear it)');
      return;
    case 'interrupt':
    case 'shutdown':
      return;
    default:
      throw ThreadStoreError.invalidRequest(`unknown op type ${JSON.stringify((op as { type?: unknown }).type)}`);
  }
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
};

/** The user input as the model sees it (content parts) and as the rollout records it. */
export async function userContent(items: readonly UserInput[]): Promise<{
  content: Record<string, unknown>[];
  text: string;
  images: string[];
  localImages: string[];
}> {
  const content: Record<string, unknown>[] = [];
  const texts: string[] = [];
  const images: string[] = [];
  const localImages: string[] = [];
  for (const item of items) {
    if (item.type === 'text') {
      content.push({ type: 'input_text', text: item.text });
      texts.push(item.text);
    } else if (item.type === 'image') {
      content.push({ type: 'input_image', image_url: item.imageUrl });
      images.push(item.imageUrl);
    } else {
      let data: Buffer;
      try {
        data = await readFile(item.path);
      } catch (error) {
        throw ThreadStoreError.invalidRequest(`cannot read local image ${item.path}: ${(error as Error).message}`);
      }
      const mime = MIME[path.extname(item.path).toLowerCase()] ?? 'application/octet-stream';
      content.push({ type: 'input_image', image_url: `data:${mime};base64,${data.toString('base64')}` });
      localImages.push(item.path);
    }
  }
  return { content, text: texts.join('\n'), images, localImages };
}
