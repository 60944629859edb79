#!/usr/bin/env node
// Browser test of flowd's web UI, against a running flowd.
//
// Env: FLOWD_URL (http://127.0.0.1:PORT), FLOWD_CLIENT_ID, FLOWD_CLIENT_SECRET,
//      TARGET_URL (answers GET with {"value":{"joke":"..."}}),
//      ARTIFACTS_DIR (default web/e2e/artifacts), CHROMIUM_PATH (default /usr/bin/chromium),
//      E2E_TIMEOUT_MS (per step wait, default 30000).
// Exits non-zero with a message naming the failed step.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error(`e2e: FAIL: playwright-core is not installed (run \`npm ci\` in web/): ${e.message}`);
  process.exit(1);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const FLOWD_URL = (process.env.FLOWD_URL || '').replace(/\/+$/, '');
const CLIENT_ID = process.env.FLOWD_CLIENT_ID || '';
const CLIENT_SECRET = process.env.FLOWD_CLIENT_SECRET || '';
const TARGET_URL = process.env.TARGET_URL || '';
const ARTIFACTS = path.resolve(process.env.ARTIFACTS_DIR || path.join(here, 'artifacts'));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const T = Number(process.env.E2E_TIMEOUT_MS || 30000);

function fail(msg) {
  console.error(`e2e: FAIL: ${msg}`);
  process.exit(1);
}
for (const [k, v] of Object.entries({ FLOWD_URL, FLOWD_CLIENT_ID: CLIENT_ID, FLOWD_CLIENT_SECRET: CLIENT_SECRET, TARGET_URL })) if (!v) fail(`environment variable ${k} is not set`);
if (!fs.existsSync(CHROMIUM)) fail(`Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
fs.mkdirSync(ARTIFACTS, { recursive: true });

const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const jokeFlow = `e2e_joke_${suffix}`;
const sleepFlow = `e2e_sleep_${suffix}`;
const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

const jokeScript = `function handler(system, inputs) {
  this.log('fetching a joke');
  const child = this.connect({
    connector_type: 'REST',
    url: ${JSON.stringify(TARGET_URL)},
  });
  const joke = child.get('output_value').json.value.joke;
  this.log('got joke: ' + joke);
  this.log('done');
  return { records: [{ n: 1, joke: joke }, { n: 2, joke: joke }] };
}
`;
const badScript = `function handler(system, inputs) {
  const x = 1;
  return {;
}
`;
const sleepScript = `function handler(system, inputs) {
  this.log('going to sleep');
  this.sleep(600);
  return { woke: true };
}
`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowd-e2e-chromium-'));
const consoleErrors = [];
let context;
let page;
let step = 'launch Chromium';
const t0 = Date.now();

function log(msg) {
  console.log(`e2e: [${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);
}

let passed = 0;
async function run(name, fn) {
  if (step !== 'launch Chromium') passed++;
  step = name;
  log(name);
  await fn();
}

async function setScript(script) {
  const content = page.locator('.cm-content');
  await content.waitFor({ timeout: T });
  await content.click();
  await page.keyboard.press(`${mod}+a`);
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(script);
  const got = await page.evaluate(() => document.querySelector('.cm-content')?.cmView?.view?.state?.doc?.toString() ?? null);
  if (got !== null && got.trim() !== script.trim()) throw new Error(`editor content differs from the script typed:\n${got}`);
}

async function createFlow(name) {
  await page.goto(`${FLOWD_URL}/#/flows`);
  await page.getByRole('heading', { name: 'Flows' }).waitFor({ timeout: T });
  await page.getByLabel('New flow name').fill(name);
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL((u) => u.hash === `#/flows/${encodeURIComponent(name)}`, { timeout: T });
  await page.locator('.cm-content').waitFor({ timeout: T });
}

async function saveWithKeyboard() {
  await page.locator('.cm-content').click();
  await page.keyboard.press(`${mod}+s`);
  await page.getByText(/Saved( revision \d+)?\./).waitFor({ timeout: T });
}

async function expectText(locator, re, what) {
  try {
    await locator.filter({ hasText: re }).first().waitFor({ timeout: T });
  } catch {
    const text = (await locator.allInnerTexts().catch(() => [])).join('\n').slice(0, 2000);
    throw new Error(`${what}: expected ${re} but found:\n${text || '(nothing)'}`);
  }
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(T);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => d.accept());

  await run('open the UI and sign in', async () => {
    await page.goto(`${FLOWD_URL}/`);
    await page.getByLabel('Client ID').fill(CLIENT_ID);
    await page.getByLabel('Client secret').fill(CLIENT_SECRET);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const err = page.locator('.error');
    await Promise.race([
      page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T }),
      err.first().waitFor({ timeout: T }).then(async () => {
        throw new Error(`sign-in failed: ${await err.first().innerText()}`);
      }),
    ]);
    const stored = await page.evaluate(() => sessionStorage.getItem('flowd.session'));
    if (!stored || !JSON.parse(stored).token) throw new Error('no token in sessionStorage after sign-in');
  });

  await run(`create flow ${jokeFlow}`, () => createFlow(jokeFlow));

  await run('an invalid script is refused and shown at its line', async () => {
    await setScript(badScript);
    await page.locator('.cm-content').click();
    await page.keyboard.press(`${mod}+s`);
    const box = page.locator('.error').first();
    await box.waitFor({ timeout: T });
    const text = await box.innerText();
    if (!/422|invalid/i.test(text)) throw new Error(`expected a 422 invalid_script message, got: ${text}`);
    await page.locator('.cm-lint-marker-error, .cm-lintRange-error').first().waitFor({ timeout: T });
  });

  await run('write the REST flow and save it with Ctrl+S', async () => {
    await setScript(jokeScript);
    await saveWithKeyboard();
  });

  await run('completion offers the flow API and the REST inputs', async () => {
    await page.locator('.cm-content').click();
    await page.keyboard.press(`${mod}+End`);
    await page.keyboard.press('Enter');
    await page.keyboard.type('this.co');
    await expectText(page.locator('.cm-tooltip-autocomplete li'), /connect/, 'completion after "this."');
    await page.keyboard.press('Escape');
    await page.keyboard.type("nnect({connector_type: 'REST', ver");
    await expectText(page.locator('.cm-tooltip-autocomplete li'), /verify_ssl/, 'REST input completion inside this.connect({...})');
    await page.locator('.cm-tooltip-autocomplete li', { hasText: 'verify_ssl' }).first().hover();
    await page.locator('.cm-completionInfo').first().waitFor({ timeout: T }).catch(() => undefined);
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor-completion.png'), fullPage: false });
    await page.keyboard.press('Escape');
    // Put the saved script back (the test run saves the editor's content).
    await setScript(jokeScript);
  });

  await run('test-run from the editor: live log lines, result table', async () => {
    await page.locator('#run-inputs').fill('{"who": "e2e"}');
    await page.locator('#run-inputs').press('Control+Enter');
    const lines = page.locator('[data-testid=log] .logline');
    await lines.first().waitFor({ timeout: T });
    const firstCount = await lines.count();
    await expectText(lines, /got joke: /, 'log of the test run');
    await expectText(page.locator('.testrun .badge'), /ENDED_SUCCESS/, 'test run status');
    const total = await lines.count();
    log(`  log lines: first seen ${firstCount}, in all ${total}`);
    const table = page.locator('[data-testid=records-table]');
    await table.waitFor({ timeout: T });
    const rows = await table.locator('tbody tr').count();
    if (rows !== 2) throw new Error(`expected 2 rows in the result table, got ${rows}`);
    const joke = await fetch(TARGET_URL).then((r) => r.json()).then((b) => b.value.joke).catch(() => null);
    if (joke) await expectText(table.locator('td'), new RegExp(joke.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'result table');
    await page.screenshot({ path: path.join(ARTIFACTS, 'editor.png'), fullPage: true });
  });

  await run('open the execution and its tree with the CONNECTION child', async () => {
    await page.getByTestId('execution-link').click();
    await page.waitForURL(/#\/executions\//, { timeout: T });
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 'execution status');
    const conn = page.locator('[data-testid=tree-node][data-type=CONNECTION]').first();
    await conn.waitFor({ timeout: T });
    await conn.click();
    const details = page.getByTestId('node-details');
    await details.waitFor({ timeout: T });
    await expectText(details, /Request \(inputs\)/, 'connection details');
    const host = new URL(TARGET_URL).host;
    await expectText(details, new RegExp(host.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'connection request');
    await expectText(details, /joke/, 'connection response');
    await expectText(page.getByTestId('log').locator('.logline'), /got joke/, 'execution page log');
    await page.screenshot({ path: path.join(ARTIFACTS, 'execution-tree.png'), fullPage: true });
  });

  await run('executions list shows the run', async () => {
    await page.goto(`${FLOWD_URL}/#/executions?flow=${encodeURIComponent(jokeFlow)}`);
    await expectText(page.getByTestId('executions-table').locator('tbody tr'), new RegExp(jokeFlow), 'executions list filtered by flow');
  });

  await run(`create flow ${sleepFlow}, run it`, async () => {
    await createFlow(sleepFlow);
    await setScript(sleepScript);
    await saveWithKeyboard();
    await page.getByTestId('run').click();
    await page.getByTestId('execution-link').waitFor({ timeout: T });
    await expectText(page.locator('[data-testid=log] .logline'), /going to sleep/, 'sleep flow log');
  });

  await run('cancel it from the execution page and see ENDED_CANCELLED', async () => {
    await page.getByTestId('execution-link').click();
    await page.waitForURL(/#\/executions\//, { timeout: T });
    await expectText(page.getByTestId('status'), /RUNNING|WAITING/, 'sleeping execution status');
    await page.getByTestId('cancel').click();
    await expectText(page.getByTestId('status'), /ENDED_CANCELLED/, 'status after cancel');
  });

  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  if (consoleErrors.length) log(`browser console errors (not fatal):\n  ${consoleErrors.join('\n  ')}`);
  log(`PASS: all steps passed; screenshots in ${ARTIFACTS}`);
  passed++;
  console.log(`${passed} passed, 0 failed`);
  process.exit(0);
} catch (e) {
  console.error(`e2e: FAIL at step "${step}": ${e && e.message ? e.message : e}`);
  console.error(`${passed} passed, 1 failed`);
  if (consoleErrors.length) console.error(`browser console errors:\n  ${consoleErrors.join('\n  ')}`);
  if (page) {
    const shot = path.join(ARTIFACTS, 'failure.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
    console.error(`e2e: page URL ${page.url()}; screenshot ${shot}`);
  }
  await context?.close().catch(() => undefined);
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
