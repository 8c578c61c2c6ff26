#!/usr/bin/env node
// Copies the built web page (@skein/web's dist/) into dist/web/, where `skein serve` serves it
// from; the published package ships it there.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const from = path.join(path.dirname(createRequire(import.meta.url).resolve('@skein/web/package.json')), 'dist');
const to = path.join(here, '..', 'dist', 'web');
if (!existsSync(path.join(from, 'index.html'))) {
  process.stderr.write(`skein: the web page is not built (${from}): run pnpm build at the repository root\n`);
  process.exit(1);
}
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
