// Which skipped tests a CI run may have: every skip must be on tools/ci/allowed-skips.json with
// its reason, so a test that skips because a tool is missing (strace, script) fails CI instead
// of passing silently.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** @typedef {{ file: string, within?: string[], test?: string, reason: string }} AllowedSkip */
/** @typedef {{ file: string, titles: string[] }} SkippedTest */

/**
 * Skipped (and todo) tests in a vitest JSON report.
 * @param {any} report @param {string} root
 * @returns {SkippedTest[]}
 */
export function skippedTests(report, root) {
  /** @type {SkippedTest[]} */
  const out = [];
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      if (t.status !== 'skipped' && t.status !== 'pending' && t.status !== 'todo') continue;
      out.push({
        file: path.relative(root, file.name).split(path.sep).join('/'),
        titles: [...(t.ancestorTitles ?? []), t.title],
      });
    }
  }
  return out;
}

/**
 * The skipped tests that no entry allows.
 * @param {SkippedTest[]} skipped @param {AllowedSkip[]} allowed
 * @returns {SkippedTest[]}
 */
export function unexpectedSkips(skipped, allowed) {
  return skipped.filter((s) => !allowed.some((a) => allows(a, s)));
}

/**
 * An entry names a file and a group (`within`: the leading titles) and/or one test (`test`: its
 * own title); a skip it allows matches all it names.
 * @param {AllowedSkip} a @param {SkippedTest} s
 */
function allows(a, s) {
  const within = a.within ?? [];
  if (within.length === 0 && a.test === undefined) return false;
  if (!s.file.endsWith(a.file)) return false;
  if (!within.every((title, i) => s.titles[i] === title)) return false;
  return a.test === undefined || s.titles[s.titles.length - 1] === a.test;
}

/** @param {string} file @returns {AllowedSkip[]} */
export function readAllowedSkips(file) {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  for (const a of json.allowed) {
    if (typeof a.reason !== 'string' || a.reason.trim() === '')
      throw new Error(`${file}: every allowed skip needs a reason (${JSON.stringify(a)})`);
  }
  return json.allowed;
}
