// Screenshots of the dashboard's views for docs/screenshots/, against a running mesh with some data in it.
//
//   npm run cluster -- --fresh &                       # a mesh with the dashboard on http://127.0.0.1:8090
//   export $(cat .tmp/cluster/auth/caller.env)          # seed the data as a caller
//   node scripts/dashboard-screenshots.mjs [--server nats://127.0.0.1:4222] [--url http://127.0.0.1:8090] [--out docs/screenshots]
//
// Seeds calls, a tree of child calls, retried failures that end as dead letters (one is redriven from the page), a
// long sleep reporting progress,
// three dispatches (one paused) and 30 s of light traffic for the charts; then opens each view in Debian's
// headless Chromium (playwright-core, /usr/bin/chromium) and saves one PNG per view.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MeshClient } from '@taskmesh/client';
import { chromium } from 'playwright-core';

const { values: opts } = parseArgs({
  options: {
    server: { type: 'string', default: 'nats://127.0.0.1:4222' },
    url: { type: 'string', default: 'http://127.0.0.1:8090' },
    out: { type: 'string', default: 'docs/screenshots' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const auth = process.env.NATS_USER ? { user: process.env.NATS_USER, password: process.env.NATS_PASSWORD } : {};
const mesh = await MeshClient.connect({ servers: opts.server, ...auth });
const run = Date.now().toString(36);

// Light traffic for the charts first (the invocations view then opens on the calls below): about 20 calls a second for 30 s.
const until = Date.now() + 30_000;
while (Date.now() < until) {
  await Promise.all(Array.from({ length: 4 }, (_, i) => mesh.call('echo', { i }).catch(() => undefined)));
  await new Promise((r) => setTimeout(r, 200));
}

// Calls of every kind, some with a key.
await Promise.all(Array.from({ length: 6 }, (_, i) => mesh.call('echo', { order: 1000 + i }, { key: i % 2 ? 'customer-42' : 'customer-7' })));
await Promise.all(Array.from({ length: 4 }, (_, i) => mesh.call('sleep', { ms: 600, steps: 3 }, { id: `resize-${run}-${i}` })));
const fanout = await mesh.submit('fanout', { count: 3, ms: 1200 }, { id: `report-${run}` });
const failing = await mesh.submit('fail', { message: 'payment gateway unavailable', retryable: true }, { id: `charge-${run}` });
// Fails 3 times, is dead-lettered, and succeeds when redriven (from the page, below).
const flaky = await mesh.submit('fail', { message: 'inventory service timed out', retryable: true, untilAttempt: 4 }, { id: `restock-${run}` });
const long = await mesh.submit('sleep', { ms: 600_000, steps: 600 }, { id: `export-${run}` });
await mesh.wait(fanout, { timeoutMs: 30_000 });
await mesh.wait(failing, { timeoutMs: 30_000 }).catch(() => undefined);
await mesh.wait(flaky, { timeoutMs: 30_000 }).catch(() => undefined);

// Dispatches: every 10 s, hourly by cron, and a paused one.
const soon = new Date(Date.now() + 3_000).toISOString();
await mesh.dispatches.create({ id: `ping-${run}`, task: 'echo', args: { ping: true }, start: soon, recurrence: 'FREQ=SECONDLY;INTERVAL=10' }).catch(() => undefined);
await mesh.dispatches.create({ id: `hourly-${run}`, task: 'report', args: { name: 'hourly', ms: 200 }, start: soon, recurrence: { cron: '0 * * * *' } }).catch(() => undefined);
await mesh.dispatches.create({ id: `cleanup-${run}`, task: 'echo', args: { cleanup: true }, start: soon, recurrence: 'FREQ=MINUTELY;INTERVAL=2', active: false }).catch(() => undefined);

mkdirSync(opts.out, { recursive: true });
const browser = await chromium.launch({ executablePath: opts.chromium, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1400, height: 520 }, deviceScaleFactor: 1 });
const shot = async (hash, name, ready) => {
  await page.goto(`${opts.url}/#/${hash}`);
  await page.locator('[data-test=live].on').waitFor({ timeout: 10_000 });
  await ready();
  await page.screenshot({ path: `${opts.out}/${name}.png`, fullPage: true });
  console.log(`screenshots: ${opts.out}/${name}.png`);
};
await shot('workers', 'workers', () => page.locator('[data-test=worker-row]').first().waitFor());
await shot('invocations', 'invocations', () => page.locator('[data-test=invocation-row]').first().waitFor());
await shot(`invocations/${encodeURIComponent(long)}`, 'invocation-detail', () => page.locator('[data-test=progress-text]').waitFor());
await shot(`invocations/${encodeURIComponent(fanout)}`, 'invocation-tree', () => page.locator('[data-test=tree] .node').nth(3).waitFor());
await shot('dispatches', 'dispatches', () => page.locator('[data-test=dispatch-event]').first().waitFor({ timeout: 20_000 }));
await shot('deadletters', 'dead-letters', async () => {
  await page.locator('[data-test=deadletter-row]').filter({ hasText: flaky }).click();
  await page.locator('[data-test=deadletter-detail] pre').waitFor();
});
// Redriven from the page: attempt 4 succeeds, and its story tells all four.
await page.locator('[data-test=redrive]').click();
await page.locator('[data-test=redrive-outcome]').waitFor();
await shot(`invocations/${encodeURIComponent(flaky)}`, 'invocation-story', () => page.locator('[data-test=story-row][data-attempt="4"]').first().waitFor({ timeout: 20_000 }));
await shot('metrics', 'metrics', () => page.locator('[data-test=chart-throughput] .uplot').waitFor({ timeout: 20_000 }));
await browser.close();
await mesh.cancel(long).catch(() => undefined);
for (const id of [`ping-${run}`, `hourly-${run}`, `cleanup-${run}`]) await mesh.dispatches.delete(id).catch(() => undefined);
await mesh.close();
