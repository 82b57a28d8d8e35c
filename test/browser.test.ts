import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadApiKeys } from '../src/api/api-keys.js';
import { OrgDirectory } from '../src/api/org-directory.js';
import { createApiApp, startApi, type RunningApi } from '../src/api/server.js';
import { StoreReader } from '../src/api/store-reader.js';
import type { SessionRecord } from '../src/flow/session-record.js';
import { API_NOW, buildApiStore, type ApiStore } from './api-store.js';
import { ROOT } from './helpers.js';

/**
 * The table page in Debian's Chromium (headless, driven by playwright-core), against the API on
 * a real store: connect with a key, choose a time range, filter by client, page, switch to the
 * live tab, export, and check the downloaded CSV against the API's own export.
 * UPDATE_SCREENSHOT=1 rewrites docs/network-logs-table.png.
 */
const CHROMIUM = '/usr/bin/chromium';
let fixture: ApiStore;
let reader: StoreReader;
let api: RunningApi;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  fixture = await buildApiStore();
  reader = await StoreReader.openReadOnly(fixture.db, 10_000);
  // Live: the veth org's sessions as if still open, so the live tab has rows to show.
  const open = fixture.byOrg.org_veth.slice(0, 3).map((r) => ({ ...r, duration: null, endedAt: null, endReason: null }));
  const app = createApiApp({
    reader,
    keys: await loadApiKeys(fixture.keyFile),
    directory: new OrgDirectory(() => fixture.maps),
    live: () => open,
    now: () => API_NOW,
  });
  api = await startApi(app, '127.0.0.1', 0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true, timezoneId: 'UTC', viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  reader?.close();
});

const rows = () => page.locator('[data-testid="sessions"] tbody tr');
const ids = () => rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.sessionId!));
/** Polls up to 10 s: with the whole suite running on two cores a page can take over a second. */
const poll = <T>(f: () => Promise<T>) => expect.poll(f, { timeout: 10_000 });
const newestFirst = (a: SessionRecord, b: SessionRecord) => b.startedAt - a.startedAt || (a.sessionId < b.sessionId ? -1 : 1);

describe('the network-logs table in Chromium', () => {
  it('connects with a key and shows the org\'s sessions for the chosen range', async () => {
    await page.goto(api.url);
    await page.getByTestId('key').fill(fixture.key.org_veth);
    await page.getByTestId('connect').click();
    await poll(() => page.getByTestId('org').textContent()).toBe('org org_veth');
    await page.getByTestId('timeStart').fill('2026-11-24T00:00:00');
    await page.getByTestId('timeEnd').fill('2026-11-25T00:00:00');
    await page.getByTestId('timeEnd').dispatchEvent('change');
    const all = fixture.byOrg.org_veth.slice().sort(newestFirst);
    await poll(ids).toEqual(all.map((r) => r.sessionId));
    await poll(() => page.getByTestId('range').textContent()).toBe(`1–${all.length} of ${all.length}`);
    // Readable figures, exact on hover; names from the org map.
    const first = rows().first().locator('td');
    expect(await first.nth(2).textContent()).toBe(all[0]!.clientId === 21 ? 'bob, build box #21' : '=monitor #22');
    expect(await first.nth(9).getAttribute('title')).toBe(`${all[0]!.bytesRx} bytes, ${all[0]!.packetsRx} packets`);
    await page.getByTestId('timeEnd').blur();
    if (process.env.UPDATE_SCREENSHOT) await page.screenshot({ path: join(ROOT, 'docs', 'network-logs-table.png'), fullPage: true });
  });

  it('filters by client from the options the API offers', async () => {
    const options = await page.getByTestId('clientId').locator('option').allTextContents();
    expect(options).toEqual(['any', 'bob, build box (#21)', '=monitor (#22)']);
    await page.getByTestId('clientId').selectOption('22');
    const want = fixture.byOrg.org_veth.filter((r) => r.clientId === 22).sort(newestFirst);
    await poll(ids).toEqual(want.map((r) => r.sessionId));
    await page.getByTestId('clientId').selectOption('');
  });

  it('a slow answer to an earlier choice never replaces the table of a later one', async () => {
    // Hold the answer for client 21 for 1.5 s, so that it comes back after the one for client 22.
    let held = 0;
    const table = (url: URL) => url.pathname.endsWith('/logs/network');
    await page.route(table, async (route) => {
      if (new URL(route.request().url()).searchParams.get('clientId') === '21') {
        held++;
        await new Promise((r) => setTimeout(r, 1500));
      }
      await route.continue().catch(() => { /* the page aborted it meanwhile */ });
    });
    await page.getByTestId('clientId').selectOption('21');
    await page.getByTestId('clientId').selectOption('22');
    const want = fixture.byOrg.org_veth.filter((r) => r.clientId === 22).sort(newestFirst).map((r) => r.sessionId);
    await poll(ids).toEqual(want);
    await new Promise((r) => setTimeout(r, 2000));
    expect(held).toBe(1);
    expect(await ids()).toEqual(want);
    await page.unroute(table);
    await page.getByTestId('clientId').selectOption('');
    await poll(async () => (await ids()).length).toBe(fixture.byOrg.org_veth.length);
  });

  it('pages through the result with Next and Previous', async () => {
    const all = fixture.byOrg.org_veth.slice().sort(newestFirst).map((r) => r.sessionId);
    await page.getByTestId('limit').selectOption('10');
    await poll(ids).toEqual(all.slice(0, 10));
    expect(await page.getByTestId('range').textContent()).toBe(`1–10 of ${all.length}`);
    expect(await page.getByTestId('prev').isDisabled()).toBe(true);
    await page.getByTestId('next').click();
    await poll(ids).toEqual(all.slice(10, 20));
    expect(await page.getByTestId('range').textContent()).toBe(`11–${all.length} of ${all.length}`);
    expect(await page.getByTestId('next').isDisabled()).toBe(true);
    await page.getByTestId('prev').click();
    await poll(ids).toEqual(all.slice(0, 10));
    await page.getByTestId('limit').selectOption('100');
  });

  it('downloads the CSV the filters select', async () => {
    await page.getByTestId('clientId').selectOption('21');
    await page.getByTestId('protocol').selectOption('tcp');
    await poll(async () => (await ids()).length).toBe(fixture.byOrg.org_veth.filter((r) => r.clientId === 21 && r.protocol === 'tcp').length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    expect(download.suggestedFilename()).toMatch(/^network-logs-org_veth-.*\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    const q = 'timeStart=2026-11-24T00:00:00.000Z&timeEnd=2026-11-25T00:00:00.000Z&protocol=tcp&clientId=21';
    const reference = await (await fetch(`${api.url}/v1/org/org_veth/logs/network/export?${q}`, { headers: { Authorization: `Bearer ${fixture.key.org_veth}` } })).text();
    expect(csv).toBe(reference);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]!.split(',').slice(0, 10)).toEqual(['timestamp', 'protocol', 'siteResourceId', 'clientId', 'userId', 'sourceAddr', 'destAddr', 'duration', 'bytesTx', 'bytesRx']);
    expect(lines.slice(1).every((l) => l.split(',')[1] === 'tcp' && l.split(',')[3] === '21')).toBe(true);
    expect(lines.length - 1).toBe(fixture.byOrg.org_veth.filter((r) => r.clientId === 21 && r.protocol === 'tcp').length);
  });

  it('shows sessions open now on the live tab', async () => {
    await page.getByTestId('clientId').selectOption('');
    await page.getByTestId('protocol').selectOption('');
    await page.getByTestId('tab-live').click();
    await poll(async () => (await ids()).length).toBe(3);
    expect(await rows().first().locator('td').nth(7).textContent()).toBe('open');
    expect(await page.getByTestId('export').isDisabled()).toBe(true);
  });
});
