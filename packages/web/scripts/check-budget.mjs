#!/usr/bin/env node
// Fails the build when the page's JavaScript is over its budget: 250 kB gzipped in all, which
// keeps the first load of the thread browser fast on a slow link.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 250 * 1000;
const assets = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'assets');
let total = 0;
for (const name of readdirSync(assets)) {
  if (!name.endsWith('.js')) continue;
  const gz = gzipSync(readFileSync(path.join(assets, name)), { level: 9 }).length;
  total += gz;
  process.stdout.write(`web: ${name} ${(gz / 1000).toFixed(1)} kB gzipped\n`);
}
process.stdout.write(`web: ${(total / 1000).toFixed(1)} kB of JavaScript gzipped (budget ${BUDGET_BYTES / 1000} kB)\n`);
if (total > BUDGET_BYTES) {
  process.stderr.write(`web: the page's JavaScript is over its budget of ${BUDGET_BYTES / 1000} kB gzipped\n`);
  process.exit(1);
}
