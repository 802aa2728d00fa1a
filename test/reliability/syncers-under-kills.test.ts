/**
 * Syncers under kills: a `log-client` posts while two `log-sync` processes (different intervals and
 * page sizes) append to one NDJSON file, and one of them is killed with SIGKILL at random moments and
 * restarted. After the client stops and `log-sync --once` catches up, the file holds every record of
 * GET /api/data exactly once, in the server's order, with no torn line.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { describe, expect, it } from 'vitest';
import { bySize, mode } from './support/mode';
import { allLogIds, randomBetween, startServer, Telelab, withTempDir } from './support/processes';

const SECONDS = bySize({ short: 15, full: 60 });

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * What a writer killed mid-write leaves: the first bytes of the next record's line, no newline. A kill
 * rarely tears a line by itself (each page is one write), so the test also leaves such tails, under the
 * syncers' own lock, to make the repair path run while syncers are being killed.
 */
async function leaveTornTail(file: string, source: string, waitMs: number): Promise<boolean> {
  let release: (() => Promise<void>) | undefined;
  const deadline = Date.now() + waitMs;
  while (!release) {
    try {
      // The syncers' lock settings: a lock a killed syncer left is taken over once stale (10 s).
      release = await lockfile.lock(file, { stale: 10_000, update: 2000, retries: 0 });
    } catch {
      if (Date.now() > deadline) return false;
      await sleep(randomBetween(20, 100));
    }
  }
  try {
    const content = readFileOrEmpty(file);
    if (content.length > 0 && !content.endsWith('\n')) return false;
    const lastLine = content.trimEnd().split('\n').pop();
    const after = lastLine ? `?id=${(JSON.parse(lastLine) as { id: string }).id}&limit=1` : '?limit=1';
    const next = (await (await fetch(`${source}/api/data${after}`)).json()) as unknown[];
    if (next.length === 0) return false;
    const line = JSON.stringify(next[0]);
    appendFileSync(file, line.slice(0, 1 + Math.floor(Math.random() * (line.length - 1))));
    return true;
  } finally {
    await release();
  }
}

describe('log syncers under kill -9', () => {
  it(`two syncers killed at random for ${SECONDS} s still write every record exactly once, in order`, async () => {
    await withTempDir('sync', async (dir) => {
      const file = path.join(dir, 'logs.ndjson');
      const server = await startServer('sync-serve', { DATA_DIR: path.join(dir, 'data') });
      const syncerArgs = [
        ['--interval', '100', '--page-limit', '40'],
        ['--interval', '700', '--page-limit', '1000'],
      ];
      const startSyncer = (i: number): Telelab =>
        new Telelab(`syncer-${i}`, [
          'log-sync',
          '--target-file',
          file,
          '--source',
          server.url,
          ...syncerArgs[i]!,
        ]);
      const syncers = [startSyncer(0), startSyncer(1)];
      const allSyncers = [...syncers];
      const client = new Telelab('log-client', [
        'log-client',
        '--target',
        server.url,
        '--threads',
        '4',
        '--delay',
        '20',
        '--log-dir',
        path.join(dir, 'client'),
      ]);

      let kills = 0;
      let tornByKills = 0;
      let tornTailsLeft = 0;
      let injectionEvents = 0;
      const repairsLogged = () =>
        allSyncers.reduce((n, p) => n + (p.stderr.match(/cut a torn last line/g)?.length ?? 0), 0);
      const end = Date.now() + SECONDS * 1000;
      const injector = (async () => {
        while (Date.now() < end) {
          await sleep(randomBetween(300, 1200));
          injectionEvents++; // the tail may be torn from here...
          if (await leaveTornTail(file, server.url, Math.max(0, end - Date.now()))) tornTailsLeft++;
          injectionEvents++; // ...to here
        }
      })();
      while (Date.now() < end) {
        await sleep(randomBetween(100, 1200));
        const i = Math.random() < 0.5 ? 0 : 1;
        const whole = (c: string) => c.length === 0 || c.endsWith('\n');
        const events = injectionEvents;
        const before = whole(readFileOrEmpty(file));
        await syncers[i]!.kill();
        kills++;
        const after = whole(readFileOrEmpty(file));
        // Torn by the kill itself: whole before, torn after, and the test left nothing in between.
        if (before && !after && events % 2 === 0 && injectionEvents === events) tornByKills++;
        await sleep(randomBetween(0, 300));
        syncers[i] = startSyncer(i);
        allSyncers.push(syncers[i]!);
      }
      await injector;
      expect(client.alive, `log-client exited early: ${client.stderr}`).toBe(true);
      const clientEnd = await client.stop();
      for (const s of syncers) await s.kill();
      // One more torn tail, certainly left, for the catch-up run to repair (a new record to tear first).
      await fetch(`${server.url}/api/data`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ log: '10.1.2.3 GET /last 200' }),
      });
      const left = await leaveTornTail(file, server.url, 15_000);
      if (left) tornTailsLeft++;
      expect(left || !readFileOrEmpty(file).endsWith('\n'), 'a torn tail before the catch-up').toBe(true);

      const catchUp = new Telelab('catch-up', [
        'log-sync',
        '--once',
        '--target-file',
        file,
        '--source',
        server.url,
      ]);
      await catchUp.exited;
      expect(catchUp.exit?.code, `log-sync --once: ${catchUp.stderr}`).toBe(0);

      const serverIds = await allLogIds(server.url);
      const content = readFileOrEmpty(file);
      const lines = content.split('\n');
      const last = lines.pop();
      const torn = last === '' ? 0 : 1;
      const fileIds: string[] = [];
      let unparsable = 0;
      for (const line of lines) {
        try {
          fileIds.push((JSON.parse(line) as { id: string }).id);
        } catch {
          unparsable++;
        }
      }
      const inFile = new Map<string, number>();
      for (const id of fileIds) inFile.set(id, (inFile.get(id) ?? 0) + 1);
      const missing = serverIds.filter((id) => !inFile.has(id)).length;
      const duplicated = [...inFile.values()].filter((n) => n > 1).length;
      const unknown = fileIds.filter((id) => !serverIds.includes(id)).length;
      const outOfOrder = fileIds.filter((id, k) => serverIds[k] !== id).length;
      console.log(
        `syncers-under-kills (${mode}): seconds=${SECONDS} kills=${kills} torn_by_kills=${tornByKills} ` +
          `torn_tails_left=${tornTailsLeft} repairs_logged=${repairsLogged() + (catchUp.stderr.match(/cut a torn/g)?.length ?? 0)} ` +
          `records=${serverIds.length} file_lines=${lines.length} missing=${missing} duplicated=${duplicated} ` +
          `unknown=${unknown} out_of_order=${outOfOrder} torn=${torn + unparsable} ` +
          `client_exit=${clientEnd.code}`,
      );
      await server.proc.stop();

      expect(kills).toBeGreaterThanOrEqual(SECONDS / 2);
      expect(tornTailsLeft, 'torn tails were left for the syncers to repair').toBeGreaterThanOrEqual(1);
      expect(serverIds.length, 'the client posted records').toBeGreaterThan(SECONDS * 20);
      expect({ missing, duplicated, unknown, outOfOrder, torn, unparsable }).toEqual({
        missing: 0,
        duplicated: 0,
        unknown: 0,
        outOfOrder: 0,
        torn: 0,
        unparsable: 0,
      });
      expect(fileIds).toEqual(serverIds);
    });
  });
});
