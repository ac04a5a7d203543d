import { existsSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { Role, type InvocationRecord } from '@taskmesh/protocol';
import { spawnApp, waitFor, type AppProcess } from '@taskmesh/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startMesh, type Mesh } from './support/mesh-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
/** How long the page may take to show what the mesh did (pushed updates arrive within a few hundred ms). */
const SHOWN_MS = 15_000;

const ask = async <T>(nc: NatsConnection, subject: string, body: unknown): Promise<T> =>
  (await nc.request(subject, JSON.stringify(body), { timeout: 10_000 })).json<T>();
const record = async (nc: NatsConnection, id: string): Promise<InvocationRecord | undefined> =>
  (await ask<{ invocation?: InvocationRecord }>(nc, 'mesh.invocations.get', { id })).invocation;

// Issue 14: the dashboard (apps/dashboard) driven in Debian's headless Chromium against a real mesh: router,
// orchestrator, scheduler and workers as processes, the dashboard as one more (as the `dashboard` NATS user), the
// page talking only to it.
describe('dashboard in a browser (mesh + dashboard as processes, headless Chromium)', () => {
  let mesh: Mesh;
  let dashboard: AppProcess;
  let url: string;
  let browser: Browser;
  let page: Page;

  /** The element `selector` once it is on the page (and, with `text`, holds it); fails after SHOWN_MS. */
  const shown = async (selector: string, text?: string | RegExp, timeout = SHOWN_MS) => {
    const locator = text === undefined ? page.locator(selector).first() : page.locator(selector).filter({ hasText: text }).first();
    await locator.waitFor({ state: 'visible', timeout });
    return locator;
  };
  const open = async (hash: string): Promise<void> => {
    await page.goto(`${url}/#/${hash}`);
    await shown('[data-test=live].on'); // the event stream is open: nothing pushed from now on is missed
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install -y chromium)`);
    const env = { MESH_NOTIFY_PERIOD_MS: '300', MESH_EXPIRES_AFTER_MS: '1500' };
    mesh = await startMesh({ workers: 1, orchestrators: 1, schedulers: 1, env });
    // As its own role: a permission it lacks is a violation in the server's log, which fails the suite at the end.
    dashboard = mesh.group.add(spawnApp('dashboard', {
      ...mesh.server.appEnv(Role.Dashboard), MESH_HTTP_PORT: '0', MESH_DASHBOARD_PORT: '0', MESH_DASHBOARD_STATS_MS: '500', ...env,
    }));
    url = (JSON.parse(await dashboard.waitForLine(/"dashboard started"/, 20_000)) as { url: string }).url;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await mesh?.stop();
  }, 30_000);

  it('shows the live worker, then a worker joining and expiring as it happens', async () => {
    await open('workers');
    const w1 = await shown('[data-test=worker-row][data-id=w1]');
    expect(await w1.locator('td').nth(2).textContent()).toBe('64');
    const w2 = await mesh.addWorker('w2');
    await shown('[data-test=worker-row][data-id=w2]');
    await shown('[data-test=worker-event]', /joined\s*w2/);
    w2.kill('SIGKILL');
    await shown('[data-test=worker-event]', /expired\s*w2/);
    await page.locator('[data-test=worker-row][data-id=w2]').waitFor({ state: 'detached', timeout: SHOWN_MS });
  }, 60_000);

  it('shows a sleep\'s progress step by step, then SUCCESS, with its state history', async () => {
    const id = 'nap-1';
    const submitted = await ask<{ state: string }>(mesh.nc, 'mesh.submit.sleep', { id, args: { ms: 4000, steps: 4 } });
    expect(submitted.state).toBe('WAITING');
    await open(`invocations/${id}`);
    // Progress arrives pushed while it runs: at least one step short of the end is seen before the outcome.
    await shown('[data-test=progress-text]', /^[123] \/ 4$/);
    await shown('[data-test=invocation-detail] .panel-head [data-test=state]', 'SUCCESS');
    await shown('[data-test=progress-text]', '4 / 4');
    await shown('[data-test=history-row] [data-test=state]', 'SUCCESS');
    const states = await page.locator('[data-test=history-row] [data-test=state]').allTextContents();
    expect(states).toEqual(['WAITING', 'RUNNING', 'SUCCESS']);
    expect(await page.locator('[data-test=history-row] td:first-child').allTextContents()).not.toContain('—');
  }, 30_000);

  it('cancels a running invocation from the UI: it ends CANCELLED', async () => {
    const id = 'long-1';
    await ask(mesh.nc, 'mesh.submit.sleep', { id, args: { ms: 60_000, steps: 60 } });
    await open(`invocations/${id}`);
    await shown('[data-test=invocation-detail] .panel-head [data-test=state]', 'RUNNING');
    await (await shown('[data-test=cancel]')).click();
    await shown('[data-test=invocation-detail] .panel-head [data-test=state]', 'CANCELLED');
    const r = await waitFor(async () => {
      const now = await record(mesh.nc, id);
      return now?.state === 'FAILURE' && now;
    }, { timeoutMs: 10_000, what: `${id} final` });
    expect(r.failure?.code).toBe('CANCELLED');
    expect(await page.locator('[data-test=cancel]').count()).toBe(0);
  }, 30_000);

  it('lists invocations filtered by task and state, in server-side pages', async () => {
    await Promise.all(['a', 'b', 'c'].map((k) => ask(mesh.nc, 'mesh.call.echo', { args: { k }, key: `cust-${k}` })));
    await open('invocations');
    await page.fill('input[name=task]', 'sleep');
    await page.click('button[type=submit]');
    await shown('table[data-query*="task=sleep"] [data-test=invocation-row][data-id=nap-1]');
    const tasks = await page.locator('[data-test=invocation-row] td:nth-child(2)').allTextContents();
    expect(new Set(tasks)).toEqual(new Set(['sleep']));
    await page.selectOption('select[name=state]', 'FAILURE');
    await page.click('button[type=submit]');
    await shown('table[data-query*="state=FAILURE"] [data-test=invocation-row][data-id=long-1]');
    expect(await page.locator('[data-test=invocation-row]').count()).toBe(1);
    // The API cuts pages and filters by key itself: one row a page, and a key no other row has.
    const paged = await (await fetch(`${url}/api/invocations?task=echo&size=1&page=2`)).json() as { items: unknown[]; pages: number; total: number };
    expect(paged).toMatchObject({ pages: 3, total: 3 });
    expect(paged.items).toHaveLength(1);
    const keyed = await (await fetch(`${url}/api/invocations?key=cust-b`)).json() as { items: Array<{ key: string }> };
    expect(keyed.items.map((i) => i.key)).toEqual(['cust-b']);
    const bad = await fetch(`${url}/api/invocations?state=DONE`);
    expect(bad.status).toBe(400);
  }, 30_000);

  it('shows a dispatch\'s next occurrence on the timeline, its running state as it happens, and pauses it', async () => {
    const start = new Date(Math.ceil((Date.now() + 90_000) / 1000) * 1000).toISOString();
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'tick', task: 'echo', args: { tick: true }, start, recurrence: 'FREQ=MINUTELY' });
    await open('dispatches');
    await shown(`[data-test=timeline-row][data-id=tick] [data-test=occurrence][data-at="${start}"]`);
    await shown('[data-test=dispatch-row][data-id=tick] [data-test=next]', /in 1 min|in \d+\.\d s/);
    // A one-off two seconds from now: its `started` arrives pushed.
    const soon = new Date(Date.now() + 2_000).toISOString();
    await ask(mesh.nc, 'mesh.dispatches.create', { id: 'soon', task: 'echo', start: soon });
    await shown('[data-test=dispatch-event]', /started\s*soon/);
    await (await shown('[data-test=dispatch-row][data-id=tick] [data-test=toggle]', 'Pause')).click();
    await shown('[data-test=dispatch-row][data-id=tick] [data-test=toggle]', 'Resume');
    const d = await ask<{ dispatch: { active: boolean } }>(mesh.nc, 'mesh.dispatches.get', { id: 'tick' });
    expect(d.dispatch.active).toBe(false);
    expect(await page.locator('[data-test=timeline-row][data-id=tick] [data-test=occurrence]').count()).toBe(0);
  }, 40_000);

  it('lists a dead letter as it appears and shows its message', async () => {
    await open('deadletters');
    await ask(mesh.nc, 'mesh.submit.fail', { id: 'doomed-1', args: { message: 'always', retryable: true } });
    const row = await shown('[data-test=deadletter-row]', 'doomed-1', 20_000);
    await row.click();
    await shown('[data-test=deadletter-detail] pre', '"doomed-1"');
    await shown('[data-test=deadletter-detail] dd', /attempts exhausted \(3\)/);
  }, 40_000);

  it('redrives a dead letter from the UI: it runs again as attempt 4 and succeeds; its story tells every attempt', async () => {
    // `fail` until attempt 4: its 3 attempts fail, it is dead-lettered; the redrive runs it as attempt 4.
    const id = 'flaky-1';
    await ask(mesh.nc, 'mesh.submit.fail', { id, args: { message: 'gateway down', retryable: true, untilAttempt: 4 } });
    await open('deadletters');
    await (await shown('[data-test=deadletter-row]', id, 20_000)).click();
    await (await shown('[data-test=redrive]')).click();
    await shown('[data-test=redrive-outcome]', `Redriven: ${id}.`);
    await page.locator('[data-test=deadletter-row]').filter({ hasText: id }).waitFor({ state: 'detached', timeout: SHOWN_MS });
    await open(`invocations/${id}`);
    await shown('[data-test=invocation-detail] .panel-head [data-test=state]', 'SUCCESS');
    expect(await (await shown('[data-test=result]')).textContent()).toMatch(/"attempt": 4/);
    await shown('[data-test=history-row] [data-test=state]', 'SUCCESS');
    for (const attempt of [1, 2, 3, 4]) await shown(`[data-test=story-row][data-attempt="${attempt}"]`);
    // The record keeps a digest of the arguments; the worker's log has them.
    await shown('[data-test=args]', '"untilAttempt": 4');
    const r = await record(mesh.nc, id);
    expect(r).toMatchObject({ state: 'SUCCESS', attempts: 4 });
  }, 45_000);

  it('redrives every dead letter at once, after asking', async () => {
    await open('deadletters');
    await shown('[data-test=deadletter-row]', 'doomed-1');
    page.once('dialog', (dialog) => void dialog.accept());
    await (await shown('[data-test=redrive-all]')).click();
    await shown('[data-test=redrive-outcome]', /Redriven: .*doomed-1/);
  }, 30_000);

  it('reports its NATS connection on /healthz, and answers a bad request with the reason', async () => {
    const started = JSON.parse(dashboard.lines().find((l) => l.includes('"dashboard started"'))!) as { httpPort: number };
    const health = await (await fetch(`http://127.0.0.1:${started.httpPort}/healthz`)).json() as { ok: boolean; checks: Record<string, { ok: boolean }> };
    expect(health).toMatchObject({ ok: true, checks: { nats: { ok: true } } });
    const unknown = await fetch(`${url}/api/invocations/no-such-id`);
    expect([unknown.status, (await unknown.json() as { error: { code: string } }).error.code]).toEqual([404, 'NOT_FOUND']);
    const paused = await fetch(`${url}/api/dispatches/tick`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"active":"no"}' });
    expect([paused.status, (await paused.json() as { error: { message: string } }).error.message]).toEqual([400, expect.stringContaining('{"active": true|false}')]);
  }, 15_000);

  it('charts throughput and latency from the apps\' $SRV.STATS', async () => {
    await open('metrics');
    await shown('[data-test=chart-throughput] .uplot');
    await shown('[data-test=chart-latency] .uplot');
    const services = await page.locator('[data-test=service-row] td:first-child').allTextContents();
    expect(services).toEqual(expect.arrayContaining(['taskmesh-router', 'taskmesh-orchestrator', 'taskmesh-scheduler', 'taskmesh-worker']));
  }, 30_000);
});
