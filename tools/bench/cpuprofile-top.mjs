#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the top functions by self time and by
// inclusive time, so a slow benchmark phase can be explained in a few lines.
//   node tools/bench/cpuprofile-top.mjs PROFILE.cpuprofile [--top 25] [--filter substring]
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: cpuprofile-top.mjs PROFILE.cpuprofile [--top N] [--filter TEXT]');
  process.exit(2);
}
const topIdx = args.indexOf('--top');
const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
const filterIdx = args.indexOf('--filter');
const filter = filterIdx >= 0 ? args[filterIdx + 1] : undefined;

/** @type {{nodes: {id:number, callFrame:{functionName:string,url:string,lineNumber:number}, children?:number[]}[], samples:number[], timeDeltas:number[], startTime:number, endTime:number}} */
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}

/** @param {{callFrame:{functionName:string,url:string,lineNumber:number}} | undefined} n */
function key(n) {
  if (!n) return '(unknown)';
  const f = n.callFrame;
  const name = f.functionName || '(anonymous)';
  const where = f.url ? `${path.basename(f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
  return where ? `${name} ${where}` : name;
}

const self = new Map();
const incl = new Map();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  if (!n) continue;
  const k = key(n);
  self.set(k, (self.get(k) ?? 0) + us);
  // Inclusive: charge every distinct frame on the stack once.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const ck = key(byId.get(cur));
    if (seen.has(ck)) continue;
    seen.add(ck);
    incl.set(ck, (incl.get(ck) ?? 0) + us);
  }
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
/** @param {string} title @param {Map<string, number>} m */
const show = (title, m) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms sampled)`);
  const rows = [...m.entries()]
    .filter(([k]) => !filter || k.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [k, us] of rows)
    console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
};
show('Self time', self);
show('Inclusive time', incl);
