// Makes sure the PostgreSQL the tests use is up before they run (CI step "PostgreSQL is up").
// With SKEIN_TEST_PG_URL set, that server is only checked; otherwise the local Debian cluster on
// 127.0.0.1:5432 is started with pg_ctlcluster when it is down. The PostgreSQL tests never skip:
// without a server they fail, so this step says why first.
import { existsSync, readdirSync } from 'node:fs';
import { runCapture } from './exec.mjs';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** @param {string} url */
function isReady(url) {
  const r = runCapture('pg_isready', ['-d', url, '-t', '3']);
  return r.status === 0;
}

/** @param {number} ms */
function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** @returns {number} exit status */
export function ensurePostgres() {
  const given = process.env.SKEIN_TEST_PG_URL;
  const url = given ?? DEFAULT_URL;
  if (runCapture('pg_isready', ['--version']).status !== 0) {
    console.error(
      'pg_isready not found: the PostgreSQL tests need a PostgreSQL 15+ server with pg_trgm. ' +
        "Install Debian's postgresql (apt-get install postgresql) or set SKEIN_TEST_PG_URL to a server.",
    );
    return 1;
  }
  if (isReady(url)) {
    console.log(`PostgreSQL is up at ${url.replace(/\/\/[^@/]*@/, '//…@')}.`);
    return 0;
  }
  if (given !== undefined) {
    console.error(`SKEIN_TEST_PG_URL does not answer (pg_isready failed): start that server or unset the variable.`);
    return 1;
  }
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (versions.length === 0) {
    console.error('No PostgreSQL cluster in /etc/postgresql: install postgresql, or set SKEIN_TEST_PG_URL.');
    return 1;
  }
  for (const version of versions) {
    console.log(`Starting PostgreSQL ${version} (pg_ctlcluster ${version} main start)…`);
    const r = runCapture('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']);
    if (r.status !== 0) console.error(`${r.stdout ?? ''}${r.stderr ?? ''}`.trim());
  }
  for (let i = 0; i < 30; i += 1) {
    if (isReady(url)) {
      console.log('PostgreSQL is up.');
      return 0;
    }
    sleep(1000);
  }
  console.error(`PostgreSQL did not come up at ${url} within 30 s; see /var/log/postgresql/.`);
  return 1;
}
