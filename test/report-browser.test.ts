// The HTML report in a real browser (headless Chromium through playwright-core): it makes no
// request but for the page itself, every chart draws an SVG of non-zero size with data marks,
// nothing logs an error, and a full-page screenshot lands in reports/screenshots/report.png.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as assert from 'uvu/assert';

import { writeHtmlReport } from '../lib/index.js';
import { buildReport } from './fixtures/report-data.js';
import { ROOT, hasFfmpeg, skip, tempDir, test } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
// The page is served from this address by the route below, so every request passes through it.
const PAGE = 'http://report.invalid/report.html';

const { dir, cleanup } = tempDir('mist-test-report-browser-');
test.after(cleanup);

test('the report in Chromium: no requests, every chart drawn, no console errors; screenshot', async () => {
  if (!existsSync(CHROMIUM)) return skip('chromium');
  if (!hasFfmpeg) return skip('ffmpeg');
  const built = await buildReport(dir);
  const { html } = await writeHtmlReport(join(dir, 'report.html'), built.data);
  const body = readFileSync(html);

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requested: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) =>
      route.request().url() === PAGE
        ? route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body })
        : route.abort('blockedbyclient'),
    );
    await page.goto(PAGE, { waitUntil: 'load' });

    const charts = await page.$$eval('figure.chart', (figures) =>
      figures.map((f) => {
        const svgs = f.querySelectorAll('svg');
        const svg = svgs[0];
        const box = svg?.getBoundingClientRect();
        // Data marks: the items of Vega's mark groups (not axes, legends or titles).
        const marks = svg ? svg.querySelectorAll('g.role-mark > path, g.role-mark > image, g.role-mark > g').length : 0;
        return {
          id: f.id,
          kind: f.getAttribute('data-chart') ?? '',
          svgs: svgs.length,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks,
          caption: f.querySelector('figcaption')?.textContent ?? '',
        };
      }),
    );
    const byKind: Record<string, number> = {};
    for (const c of charts) byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
    assert.equal(byKind, built.charts);
    for (const c of charts) {
      assert.is(c.svgs, 1, `${c.id}: ${c.svgs} SVGs`);
      assert.ok(c.width > 50 && c.height > 50, `${c.id}: drawn at ${c.width} x ${c.height}`);
      assert.ok(c.marks > 0, `${c.id}: no data mark`);
      assert.ok(c.caption.length > 20, `${c.id}: no caption`);
    }
    // The frames of the attention figures decoded (a data: URL the policy allows).
    const images = await page.$$eval('figure[data-chart="attention"] image', (els) =>
      els.map((e) => {
        const b = e.getBoundingClientRect();
        return { w: b.width, h: b.height };
      }),
    );
    assert.is(images.length, built.charts.attention);
    for (const b of images) assert.ok(b.w > 100 && b.h > 50, `frame image drawn at ${b.w} x ${b.h}`);

    assert.equal(problems, []);
    assert.equal(
      requested.filter((u) => !u.startsWith('data:')),
      [PAGE],
    );

    const shots = join(ROOT, 'reports', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test.run();
