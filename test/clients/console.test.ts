/// <reference lib="dom" />
// (The functions passed to page.$eval and page.waitForFunction run in the browser.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { simulateDaq } from '../../src/cli/simulate';
import { writeSimulatedRun } from '../../src/reco/simulation';
import { launchChromium } from '../support/browser';
import { startTestGateway, type TestGateway } from '../support/gateway';

// The remote console in headless Chromium, against a real gateway running its pipeline: the
// DAQ simulator's runs appear, the camera image renders with its clusters, an alarm is
// acknowledged, a run is signed off, slow control plots live.

let gw: TestGateway;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(`${gw.url}/console/`);
  await page.waitForSelector('body[data-ready=true]');
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('the remote console', () => {
  it("shows the simulator's runs arriving and the camera image with its clusters", async () => {
    await simulateDaq(gw.config, ['--runs', '2', '--events', '3', '--size', '256'], {
      GATEWAY_URL: gw.url,
    });
    await page.waitForSelector('#runs tr[data-run="2"]', { timeout: 30_000 });
    await page.waitForSelector('#camera:not([data-event=""])', { timeout: 90_000 });
    expect(await page.textContent('#camera-caption')).toMatch(/run 2, event \d+: \d+ clusters/);
    const lit = await page.$eval('#camera', (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const { data } = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
      let bright = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] > 128) bright++;
      return { bright, width: c.width };
    });
    expect(lit.width).toBe(256 / 8);
    expect(lit.bright).toBeGreaterThan(0); // spots (and the red cluster boxes) are drawn
    await page.waitForFunction(
      () => document.querySelector('#run-summary')?.textContent?.includes('reconstruction DONE'),
      undefined,
      { timeout: 60_000 },
    );
    expect(await page.textContent('#current-run')).toMatch(/run 2 \(DATA\): CLOSED/);
  });

  it('lists a raised alarm live and acknowledges it', async () => {
    await gw.gql(
      `mutation { raiseAlarm(input: { fingerprint: "hv:gem1", name: "GEM1 trip", severity: CRITICAL, source: "midas", message: "current above limit" }) { id } }`,
    );
    const item = page.locator('#alarms li[data-severity="CRITICAL"]');
    await item.waitFor({ timeout: 10_000 });
    expect(await item.textContent()).toMatch(/GEM1 trip: current above limit/);
    await item.getByRole('button', { name: 'acknowledge' }).click();
    await page.waitForSelector('#alarms li[data-state="ACKNOWLEDGED"]');
    const stored = await gw.gql(
      `{ alarms(filter: { source: "midas" }) { nodes { state acknowledgedBy acknowledgeComment } } }`,
    );
    expect(stored.data.alarms.nodes[0]).toEqual({
      state: 'ACKNOWLEDGED',
      acknowledgedBy: 'loopback',
      acknowledgeComment: 'from the remote console',
    });
  });

  it('signs a run off from the runs table', async () => {
    await page.locator('#runs tr[data-run="2"]').getByRole('button', { name: 'BAD' }).click();
    await page.waitForFunction(
      () => document.querySelector('#runs tr[data-run="2"] .quality')?.textContent === 'BAD',
    );
    const history = await gw.gql(
      `{ run(runNumber: 2) { quality qualityHistory(subsystem: "global") { status source comment } } }`,
    );
    expect(history.data.run.quality).toBe('BAD');
    expect(history.data.run.qualityHistory[0]).toEqual({
      status: 'BAD',
      source: 'SHIFTER',
      comment: 'sign-off from the remote console',
    });
  });

  it('plots slow control as it is recorded', async () => {
    await gw.gql(`mutation { recordMetrics(samples: [{ name: "slow.gas.flow", value: 20.5 }]) }`);
    await gw.gql(`mutation { recordMetrics(samples: [{ name: "slow.gas.flow", value: 20.9 }]) }`);
    await page.waitForSelector('.plot[data-metric="slow.gas.flow"] canvas[data-points="2"]');
    expect(await page.textContent('.plot[data-metric="slow.gas.flow"]')).toContain('20.900');
    expect(pageErrors).toEqual([]);
  });
});

describe('the console behind authentication', () => {
  let secured: TestGateway;
  afterAll(async () => {
    await secured?.close();
  });

  it('says the connection is refused until a valid token is given', async () => {
    const token = 'console-shifter-token-0123';
    secured = await startTestGateway({ env: { API_TOKENS: `shifter:${token}` } });
    const other = await browser.newPage();
    await other.goto(`${secured.url}/console/`);
    await other.waitForSelector('#link[data-state="unauthorised"]');
    expect(await other.isVisible('#error')).toBe(true);
    await other.fill('#token', token);
    await other.click('#token-form button');
    await other.waitForSelector('body[data-ready=true]');
    await other.waitForSelector('#link[data-state="live"]');
    expect(await other.isVisible('#error')).toBe(false);
    await other.close();
  });
});

describe('the console during an open run', () => {
  let live: TestGateway;
  afterAll(async () => {
    await live?.close();
  });

  it('shows the live reconstruction of the camera image before the run is closed', async () => {
    live = await startTestGateway({ env: { LIVE_RECO: 'true', LIVE_POLL_MS: '100' } });
    const other = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await other.goto(`${live.url}/console/`);
    await other.waitForSelector('body[data-ready=true]');
    // A pedestal run first (the simulator's first run), then an open run whose file grows.
    await simulateDaq(live.config, ['--runs', '1', '--events', '3', '--size', '256'], {
      GATEWAY_URL: live.url,
    });
    const pedestal = async () =>
      (await live.gql(`{ run(runNumber: 1) { recoStatus } }`)).data.run.recoStatus === 'DONE';
    for (let i = 0; i < 300 && !(await pedestal()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const started = await live.gql(
      `mutation { startRun(input: { runNumber: 2, description: "S003:DATA:live" }) { id } }`,
    );
    expect(started.errors).toBeUndefined();
    const name = 'run00002.mid.gz';
    const file = path.join(os.tmpdir(), `console-live-${process.pid}.mid.gz`);
    await writeSimulatedRun(file, {
      runNumber: 2,
      events: 3,
      side: 256,
      pedestal: false,
      gzip: true,
    });
    fs.copyFileSync(file, path.join(live.bufferDir, name));
    fs.rmSync(file);
    await other.waitForFunction(
      () =>
        /run 2, event \d+: \d+ clusters/.test(
          document.querySelector('#camera-caption')?.textContent ?? '',
        ),
      undefined,
      { timeout: 30_000 },
    );
    expect((await live.gql(`{ run(runNumber: 2) { state } }`)).data.run.state).toBe('RUNNING');
    const width = await other.$eval('#camera', (canvas) => (canvas as HTMLCanvasElement).width);
    expect(width).toBe(256 / 8);
    expect(pageErrors).toEqual([]);
    await other.close();
  }, 90_000);
});
