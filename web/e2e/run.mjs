#!/usr/bin/env node
// Browser test of flowd's web UI, against a running flowd.
//
// Env: FLOWD_URL (http://127.0.0.1:PORT), FLOWD_CLIENT_ID, FLOWD_CLIENT_SECRET (an admin
//      API client: it creates the test's users, and signs in by the secondary way),
//      TARGET_URL (answers GET with {"value":{"joke":"..."}}),
//      SSO_FLOWD_URL, SSO_NAME, SSO_USER, SSO_ROLE (optional: a second flowd with single
//      sign-on configured, the button's provider name, and the user and role the
//      provider's next token makes),
//      ARTIFACTS_DIR (default web/e2e/artifacts), CHROMIUM_PATH (default /usr/bin/chromium),
//      E2E_TIMEOUT_MS (per step wait, default 30000).
// Exits non-zero with a message naming the failed step.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
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
const askFlow = `e2e_ask_${suffix}`;
const treeFlow = `e2e_tree_${suffix}`;
const loopFlow = `e2e_loop_${suffix}`;
const refuseFlow = `e2e_refuse_${suffix}`;
const failFlow = `e2e_fail_${suffix}`;
const formFlow = `e2e_form_${suffix}`;
const secretName = `E2E_TOKEN_${suffix}`;
const connName = `e2e_conn_${suffix}`;
const hookName = `e2e_hook_${suffix}`;
const clientName = `e2e client ${suffix}`;
// The users the test signs in as (created through the API with the admin client).
const userName = `e2e_admin_${suffix}`;
const viewerName = `e2e_viewer_${suffix}`;
const tempName = `e2e_temp_${suffix}`;
const password = `pw-${suffix}-correct horse`;
const SSO_URL = (process.env.SSO_FLOWD_URL || '').replace(/\/+$/, '');
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
const askScript = `function handler(system, inputs) {
  this.log('asking for approval');
  const answer = this.message({
    subject: 'Approve the e2e order?',
    body: 'Order 42 for ' + inputs.who,
    fields: [{name: 'approved', label: 'Approved', type: 'boolean'}, {name: 'note', label: 'Note'}],
    timeout: 600,
  });
  this.log('answer: ' + JSON.stringify(answer));
  return { approved: answer.approved, note: answer.note };
}
`;
const treeScript = `function handler(system, inputs) {
  this.log('calling the joke flow as a child');
  const child = this.flow(${JSON.stringify(jokeFlow)}, { who: 'parent' });
  const direct = this.connect({ connector_type: 'REST', url: ${JSON.stringify(TARGET_URL)} });
  return { child_records: child.get('output_value').records.length, direct: direct.get('output_value').status_code };
}
`;
// A port nothing listens on: connections to it are refused.
const closedPort = await new Promise((resolve) => {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const refuseScript = `function handler(system, inputs) {
  this.log('calling a closed port');
  this.connect({
    connector_type: 'REST',
    url: 'http://127.0.0.1:${closedPort}/nothing',
    retry_backoff: { initial: 1, maximum: 1, multiplier: 1, deadline: 8 },
  });
  return { reached: true };
}
`;
// Fails on line 4 (column 22): inputs.missing is undefined.
const failScript = `function handler(system, inputs) {
  this.log('about to fail');
  const fine = 1;
  const x = inputs.missing.deeper;
  return { x: x, fine: fine };
}
`;
const formScript = `function handler(system, inputs) {
  this.log('hello ' + inputs.who);
  return { who: inputs.who, count: inputs.count, mode: inputs.mode };
}
`;
const formSchema = {
  type: 'object',
  properties: {
    who: { type: 'string', description: 'Whom to greet' },
    count: { type: 'integer', default: 2 },
    mode: { enum: ['short', 'long'], default: 'short' },
    loud: { type: 'boolean' },
  },
  required: ['who'],
};
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

const dialogs = [];
let dismissDialogs = 0;
let promptAnswer = '';
let passed = 0;
let skipped = 0;
// dev.mjs sets E2E_CORE_ONLY=1: its mock server imitates only the core routes, so the
// steps marked real-only (child flows, messages, configuration pages, filters, token
// renewal) are skipped there. The Go test (e2e/browser_test.go) runs every step.
const CORE_ONLY = process.env.E2E_CORE_ONLY === '1';
async function realOnly(name, fn) {
  if (CORE_ONLY) {
    skipped++;
    log(`${name}: skipped (E2E_CORE_ONLY=1)`);
    return;
  }
  await run(name, fn);
}

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

const esc = (x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Rows of the executions table as {id, type, name, status, trigger}. */
async function executionRows() {
  const table = page.getByTestId('executions-table');
  await table.waitFor({ timeout: T });
  return table.locator('tbody tr').evaluateAll((trs) =>
    trs
      .filter((tr) => tr.querySelectorAll('td').length >= 7)
      .map((tr) => {
        const td = [...tr.querySelectorAll('td')].map((c) => c.innerText.trim());
        return { id: tr.querySelector('a')?.getAttribute('title') ?? '', type: td[1], name: td[2], status: td[3], trigger: td[4] };
      }),
  );
}

/** Waits until the executions table's rows satisfy ok(rows); returns them. */
async function waitRows(ok, what) {
  const deadline = Date.now() + T;
  let rows = [];
  for (;;) {
    rows = await executionRows().catch(() => []);
    if (ok(rows)) return rows;
    if (Date.now() > deadline) throw new Error(`${what}: rows were ${JSON.stringify(rows)}`);
    await page.waitForTimeout(200);
  }
}

async function applyFilters(f) {
  const form = page.getByRole('form', { name: 'Filter executions' });
  await form.getByRole('button', { name: 'Clear' }).click();
  await page.waitForURL((u) => u.hash === '#/executions', { timeout: T });
  if (f.flow !== undefined) await form.getByLabel('Flow', { exact: true }).fill(f.flow);
  for (const k of ['status', 'type', 'trigger']) if (f[k] !== undefined) await form.getByLabel(k[0].toUpperCase() + k.slice(1), { exact: true }).selectOption(f[k]);
  if (f.since !== undefined) await form.getByLabel('Since', { exact: true }).fill(f.since);
  if (f.input !== undefined) await form.getByLabel('Inputs', { exact: true }).fill(f.input);
  if (f.children) await form.getByLabel('Include child executions').check();
  await form.getByRole('button', { name: 'Apply' }).click();
}

let adminToken = '';
/** Calls the API as the admin API client (a bearer token from FLOWD_CLIENT_ID/SECRET). */
async function apiCall(p, opts = {}) {
  if (!adminToken) {
    const r = await fetch(`${FLOWD_URL}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    });
    if (!r.ok) throw new Error(`the admin client cannot get a token: ${r.status} ${await r.text()}`);
    adminToken = (await r.json()).access_token;
  }
  const token = adminToken;
  const res = await fetch(`${FLOWD_URL}/api/v1${p}`, {
    method: opts.method || 'GET',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${opts.method || 'GET'} ${p} answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/** Signs in p with a username and password through the sign-in page; waits for the menu. */
async function signInUser(p, name, pw) {
  await p.getByLabel('Username').fill(name);
  await p.getByLabel('Password').fill(pw);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  const err = p.locator('.error');
  await Promise.race([
    p.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T }),
    err.first().waitFor({ timeout: T }).then(async () => {
      throw new Error(`sign-in of ${name} failed: ${await err.first().innerText()}`);
    }),
  ]);
}

// A second browser (not the persistent one) for other people: each context has its own cookies.
let otherBrowser;
async function otherContext() {
  otherBrowser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage'] });
  const ctx = await otherBrowser.newContext({ viewport: { width: 1360, height: 1000 } });
  ctx.setDefaultTimeout(T);
  return ctx;
}

/** The status of a fetch made by page p itself (same origin, with its cookie). */
function pageFetch(p, url, init) {
  return p.evaluate(async ([u, i]) => {
    const r = await fetch(u, i);
    return { status: r.status, text: await r.text() };
  }, [url, init]);
}

/** Waits until fn() returns a truthy value; returns it. */
async function until(fn, what) {
  const deadline = Date.now() + T;
  let last;
  for (;;) {
    last = await fn().catch((e) => e);
    if (last && !(last instanceof Error)) return last;
    if (Date.now() > deadline) throw new Error(`${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await page.waitForTimeout(150);
  }
}

/** The id of the execution page shown. */
function shownExecutionId() {
  const m = /#\/executions\/([^/?]+)/.exec(page.url());
  return m ? decodeURIComponent(m[1]) : '';
}

/** Opens the execution shown in the editor's test-run pane; returns its id. */
async function openRunExecution() {
  await page.getByTestId('execution-link').click();
  await page.waitForURL(/#\/executions\//, { timeout: T });
  return shownExecutionId();
}

/** Waits until the definition textarea's value matches re. */
async function expectDefinition(re, what) {
  const box = page.getByLabel('Definition (JSON)');
  const deadline = Date.now() + T;
  let v = '';
  while (Date.now() < deadline) {
    v = await box.inputValue().catch(() => '');
    if (re.test(v)) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: expected ${re} in the definition, found:\n${v}`);
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
  // Dialogs (confirm, beforeunload) are accepted unless a step asks to dismiss the next ones.
  page.on('dialog', (d) => {
    dialogs.push({ type: d.type(), message: d.message() });
    if (dismissDialogs > 0) {
      dismissDialogs--;
      d.dismiss().catch(() => undefined);
    } else d.accept(d.type() === 'prompt' ? promptAnswer : undefined).catch(() => undefined);
  });

  await run('open the UI and sign in as a user with a username and password', async () => {
    // The admin API client creates the user (users are people; clients are machines).
    await apiCall('/users', { method: 'POST', body: { username: userName, password, role: 'admin' } });
    await page.goto(`${FLOWD_URL}/`);
    // A wrong password is refused with the server's message.
    await page.getByLabel('Username').fill(userName);
    await page.getByLabel('Password').fill(`${password}-wrong`);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expectText(page.locator('.error'), /Sign-in refused.*401/, 'a wrong password');
    await signInUser(page, userName, password);
    await expectText(page.getByTestId('who'), new RegExp(`${esc(userName)} \\(admin\\)`), 'the header names the user and role');
    // The session is the HttpOnly cookie: nothing for scripts in storage, and no cookie in document.cookie.
    if (await page.evaluate(() => sessionStorage.getItem('flowd.session'))) throw new Error('a user session left a token in sessionStorage');
    const cookies = await context.cookies(FLOWD_URL);
    const c = cookies.find((x) => x.name === 'flowd_session');
    if (!c || !c.httpOnly || c.sameSite !== 'Lax') throw new Error(`the session cookie is not HttpOnly SameSite=Lax: ${JSON.stringify(c)}`);
    if ((await page.evaluate(() => document.cookie)).includes('flowd_session')) throw new Error('scripts can read the session cookie');
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
    // Put the saved script back: the editor has no unsaved changes then.
    await setScript(jokeScript);
    await until(async () => !/unsaved/.test(await page.getByTestId('revision').innerText()), 'the editor still says "unsaved changes" with the saved script back');
  });

  await run('test-run from the editor: live log lines, result table', async () => {
    await page.locator('#run-inputs').fill('{"who": "e2e"}');
    await page.locator('#run-inputs').press('Control+Enter');
    const lines = page.locator('[data-testid=log] .logline');
    await lines.first().waitFor({ timeout: T });
    const firstCount = await lines.count();
    await expectText(lines, /got joke: /, 'log of the test run');
    await expectText(page.locator('.testrun .badge'), /ENDED_SUCCESS/, 'test run status');
    if (!CORE_ONLY) await expectText(page.locator('.testrun .badge'), /^draft$/, 'the test run is a draft run');
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
    // Overwritten by the child-flow step's deeper tree when that step runs.
    await page.screenshot({ path: path.join(ARTIFACTS, 'execution-tree.png'), fullPage: true });
  });

  await run('executions list shows the run', async () => {
    await page.goto(`${FLOWD_URL}/#/executions?flow=${encodeURIComponent(jokeFlow)}`);
    await expectText(page.getByTestId('executions-table').locator('tbody tr'), new RegExp(jokeFlow), 'executions list filtered by flow');
  });

  await realOnly('a draft run leaves the revision unchanged; replay of an edited script diverges; unsaved edits are guarded', async () => {
    await createFlow(loopFlow);
    await setScript(jokeScript);
    await saveWithKeyboard();
    const before = await apiCall(`/flows/${loopFlow}`);
    // An edit that is not saved, run as a draft with Ctrl+Enter.
    await setScript(jokeScript.replace("this.log('done');", "this.log('draft line');"));
    await page.locator('.cm-content').press('Control+Enter');
    await expectText(page.locator('.testrun .badge'), /ENDED_SUCCESS/, 'draft run status');
    await expectText(page.locator('.testrun .badge'), /^draft$/, 'draft run trigger');
    await expectText(page.locator('[data-testid=log] .logline'), /draft line/, 'the draft ran the editor\'s script');
    const after = await apiCall(`/flows/${loopFlow}`);
    if (after.revision !== before.revision) throw new Error(`the draft run saved a revision: ${before.revision} -> ${after.revision}`);
    await expectText(page.getByTestId('revision'), new RegExp(`revision ${before.revision} • unsaved changes`), 'revision shown after the draft run');

    // Replay with a script whose connect URL differs from the recorded one.
    await setScript(jokeScript.replace(JSON.stringify(TARGET_URL), JSON.stringify(`${TARGET_URL}?changed=1`)));
    await page.getByTestId('replay-draft').click();
    await expectText(page.getByTestId('run-status-message'), /^replay diverged at connect #1/, 'replay of an edited script');
    await expectText(page.locator('.testrun .badge'), /ENDED_ERROR/, 'diverged replay status');
    await expectText(page.locator('.testrun .badge'), /^replay$/, 'replay trigger');

    // Leaving with unsaved edits asks first; staying keeps them.
    dismissDialogs = 1;
    const asked = dialogs.length;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions' }).click();
    await until(async () => dialogs.length > asked, 'no question before leaving unsaved edits');
    if (!/unsaved changes/.test(dialogs[asked].message)) throw new Error(`the question was: ${dialogs[asked].message}`);
    if (!page.url().endsWith(`#/flows/${loopFlow}`)) throw new Error(`left the editor anyway: ${page.url()}`);
    const doc = await page.locator('.cm-content').innerText();
    if (!doc.includes('?changed=1')) throw new Error('the unsaved edit is gone after staying');
    // Closing or reloading the tab asks too (beforeunload); accepting reloads the saved script.
    const asked2 = dialogs.length;
    await page.reload();
    await page.locator('.cm-content').waitFor({ timeout: T });
    if (!dialogs.slice(asked2).some((d) => d.type === 'beforeunload')) throw new Error(`no beforeunload question on reload: ${JSON.stringify(dialogs.slice(asked2))}`);
    // The tab kept the unsaved script: the editor offers it back.
    await page.getByTestId('kept-draft').waitFor({ timeout: T });
    await page.getByRole('button', { name: 'Restore it' }).click();
    await expectText(page.locator('.cm-content'), /\?changed=1/, 'restored draft');
    await setScript(jokeScript);
    await until(async () => !/unsaved/.test(await page.getByTestId('revision').innerText()), 'unsaved changes with the saved script back');
  });

  await realOnly('re-run from the execution page and from the list; replay from the execution page', async () => {
    await page.goto(`${FLOWD_URL}/#/executions?flow=${loopFlow}`);
    const rows = await waitRows((r) => r.length >= 1, 'loop flow runs');
    const orig = rows[rows.length - 1].id; // the draft run
    await page.goto(`${FLOWD_URL}/#/executions/${orig}`);
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 'original run');
    await page.getByTestId('rerun').click();
    await page.waitForURL((u) => u.hash.startsWith('#/executions/') && !u.hash.endsWith(orig), { timeout: T });
    await expectText(page.getByTestId('rerun-of'), new RegExp(orig), 're-run names its original');
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 're-run status');
    const rerunId = shownExecutionId();
    // Replay the re-run: its recorded answers, the latest revision, no call to the target.
    await page.getByTestId('replay').click();
    await page.waitForURL((u) => u.hash.startsWith('#/executions/') && !u.hash.endsWith(rerunId), { timeout: T });
    await expectText(page.getByTestId('replay-of'), new RegExp(rerunId), 'replay names its original');
    await expectText(page.getByTestId('trigger'), /replay/, 'replay trigger');
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 'replay status');
    // From the list: the Re-run button in the re-run's row.
    await page.goto(`${FLOWD_URL}/#/executions?flow=${loopFlow}`);
    const listed = await waitRows((r) => r.some((x) => x.id === rerunId), 'loop flow runs after the re-run and the replay');
    await page.getByTestId('executions-table').locator('tbody tr', { hasText: rerunId.slice(0, 12) }).getByTestId('row-rerun').click();
    await page.waitForURL((u) => u.hash.startsWith('#/executions/') && !listed.some((x) => u.hash.endsWith(x.id)), { timeout: T });
    await expectText(page.getByTestId('rerun-of'), new RegExp(rerunId), 're-run from the list names its original');
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 're-run from the list');
  });

  await realOnly('the flow list runs a flow and shows its last run', async () => {
    await page.goto(`${FLOWD_URL}/#/flows?q=${loopFlow}`);
    const row = page.getByTestId('flows-table').locator('tbody tr', { hasText: loopFlow });
    await expectText(row.getByTestId('last-run'), /ENDED_SUCCESS/, 'last run status in the flow list');
    await row.getByTestId('flow-run').click();
    await page.waitForURL(/#\/executions\//, { timeout: T });
    await expectText(page.getByTestId('trigger'), /api/, 'run from the list');
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 'run from the list ends');
  });

  await realOnly('live tries: a connect to a closed port shows each failed try while it runs', async () => {
    await createFlow(refuseFlow);
    await setScript(refuseScript);
    await saveWithKeyboard();
    await page.getByTestId('run').click();
    const steps = page.getByTestId('steps');
    await expectText(steps, /try \d+ failed: connection refused; next in 1 s/, 'live try line of the running connect');
    const badge = (await page.locator('.testrun .badge').first().innerText()).trim();
    if (/ENDED/.test(badge)) throw new Error(`the try line showed only after the end (${badge})`);
    await page.getByTestId('steps').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'live-tries.png'), fullPage: false });
    // The running duration counts up.
    const d1 = (await page.getByTestId('run-duration').innerText()).trim();
    await until(async () => (await page.getByTestId('run-duration').innerText()).trim() !== d1, `the running duration stays at ${d1}`);
    const id = await openRunExecution();
    const tree = page.getByTestId('tree');
    await expectText(tree.locator('[data-testid=try-line]'), /try \d+ failed: connection refused/, 'try line in the execution tree');
    await expectText(page.getByTestId('status'), /ENDED_ERROR/, 'the refused connect ends the run');
    log(`  ${id}: ${(await page.getByTestId('status-message').innerText()).slice(0, 160)}`);
  });

  await realOnly('a runtime error is marked at its line in the editor', async () => {
    await createFlow(failFlow);
    await setScript(failScript);
    await saveWithKeyboard();
    await page.getByTestId('run').click();
    await expectText(page.getByTestId('run-status-message'), new RegExp(`${esc(failFlow)}\\.js:4:`), 'runtime error with its position');
    const line = await until(
      () =>
        page.evaluate(() => {
          const r = document.querySelector('.cm-content .cm-lintRange-error');
          const l = r?.closest('.cm-line');
          return l ? [...document.querySelectorAll('.cm-content .cm-line')].indexOf(l) + 1 : 0;
        }),
      'no error mark in the editor',
    );
    if (line !== 4) throw new Error(`the error is marked on line ${line}, not 4`);
    // From the execution page, the error's link opens the editor with that line marked.
    await openRunExecution();
    await page.getByTestId('error-line-link').click();
    await page.waitForURL((u) => u.hash.startsWith(`#/flows/${failFlow}`), { timeout: T });
    const again = await until(
      () =>
        page.evaluate(() => {
          const r = document.querySelector('.cm-content .cm-lintRange-error');
          const l = r?.closest('.cm-line');
          return l ? [...document.querySelectorAll('.cm-content .cm-line')].indexOf(l) + 1 : 0;
        }),
      'no error mark after following the execution page\'s link',
    );
    if (again !== 4) throw new Error(`the linked error is marked on line ${again}, not 4`);
  });

  await realOnly('declared inputs: a form with a required field, marked when empty, runs when filled', async () => {
    await createFlow(formFlow);
    await setScript(formScript);
    await page.locator('.schema-box summary').click();
    await page.locator('#inputs-schema').fill(JSON.stringify(formSchema, null, 2));
    await page.getByTestId('save').click();
    await page.getByText(/Saved revision \d+\./).waitFor({ timeout: T });
    const stored = await apiCall(`/flows/${formFlow}`);
    if (!stored.inputs_schema || !stored.inputs_schema.required?.includes('who')) throw new Error(`GET returned inputs_schema ${JSON.stringify(stored.inputs_schema)}`);
    const form = page.getByTestId('inputs-form');
    await form.waitFor({ timeout: T });
    if ((await form.getByLabel('count').inputValue()) !== '2') throw new Error('the default of count is not filled in');
    await expectText(form.locator('[data-field=who] label'), /\*/, 'required mark');
    // Empty: the server refuses it with 422 and the form marks the field.
    await page.getByTestId('run').click();
    const who = form.locator('[data-field=who]');
    await expectText(who.getByTestId('field-error'), /./, 'the required field is marked');
    if ((await form.getByLabel(/^who/).getAttribute('aria-invalid')) !== 'true') throw new Error('the field is not aria-invalid');
    if (await page.getByTestId('execution-link').count()) throw new Error('an execution started with invalid inputs');
    await form.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'inputs-form.png'), fullPage: false });
    await form.getByLabel(/^who/).fill('form');
    await form.getByLabel('mode').selectOption('long');
    await page.getByTestId('run').click();
    await expectText(page.locator('.testrun .badge'), /ENDED_SUCCESS/, 'run with the form');
    if (await who.getByTestId('field-error').count()) throw new Error('the field is still marked after a good run');
    await page.getByRole('tab', { name: 'JSON' }).click();
    await expectText(page.locator('pre.json'), /"who": "form"[\s\S]*"count": 2|"count": 2[\s\S]*"who": "form"/, 'inputs of the form run');
    await expectText(page.locator('pre.json'), /"mode": "long"/, 'enum input');
    // An unsaved edit of the schema: the form follows it and a draft run checks against it.
    const draftSchema = { ...formSchema, properties: { ...formSchema.properties, city: { type: 'string' } }, required: ['who', 'city'] };
    await page.locator('#inputs-schema').fill(JSON.stringify(draftSchema, null, 2));
    const city = form.locator('[data-field=city]');
    await city.waitFor({ timeout: T });
    if ((await form.getByLabel(/^who/).inputValue()) !== 'form') throw new Error('the form lost a value when the schema changed');
    await page.getByTestId('run').click();
    await expectText(city.getByTestId('field-error'), /./, 'the draft schema\'s required field is marked');
    const unchanged = await apiCall(`/flows/${formFlow}`);
    if (unchanged.inputs_schema?.properties?.city) throw new Error('the draft schema was saved');
  });

  await realOnly('a flow calling a child flow: the tree shows FLOW and CONNECTION children', async () => {
    await createFlow(treeFlow);
    await setScript(treeScript);
    await saveWithKeyboard();
    await page.getByTestId('run').click();
    await expectText(page.locator('.testrun .badge'), /ENDED_SUCCESS/, 'tree flow status');
    await expectText(page.locator(`[data-testid=log] .logline[data-from="${jokeFlow}"]`), /got joke/, 'child log line in the editor\'s log');
    await page.getByTestId('execution-link').click();
    await page.waitForURL(/#\/executions\//, { timeout: T });
    const tree = page.getByTestId('tree');
    await tree.locator(`[data-testid=tree-node][data-type=FLOW]`, { hasText: jokeFlow }).waitFor({ timeout: T });
    // The child flow's own CONNECTION, nested under it, and the parent's direct one.
    const nested = tree.locator('li li li [data-testid=tree-node][data-type=CONNECTION]');
    await nested.first().waitFor({ timeout: T });
    const conns = await tree.locator('[data-testid=tree-node][data-type=CONNECTION]').count();
    if (conns !== 2) throw new Error(`expected 2 CONNECTION nodes in the tree, got ${conns}`);
    // The child flow's log lines, inline and labelled with it; the toggle hides them.
    const childLine = page.locator(`[data-testid=log] .logline[data-from="${jokeFlow}"]`);
    await expectText(childLine, /got joke/, 'child log line inline in the parent log');
    await expectText(page.getByTestId('log').locator('.logline:not(.child)'), /calling the joke flow/, 'the parent\'s own line');
    await page.getByTestId('child-logs-toggle').uncheck();
    await until(async () => (await childLine.count()) === 0, 'child log lines still shown with the toggle off');
    await page.getByTestId('child-logs-toggle').check();
    await childLine.first().waitFor({ timeout: T });
    await nested.first().click();
    await expectText(page.getByTestId('node-details'), /Response \(outputs\)/, 'nested connection details');
    await expectText(page.getByTestId('node-details'), /joke/, 'nested connection response');
    await page.screenshot({ path: path.join(ARTIFACTS, 'execution-tree.png'), fullPage: true });
  });

  await realOnly('answer a this.message form from the execution page', async () => {
    await createFlow(askFlow);
    await setScript(askScript);
    await saveWithKeyboard();
    await page.locator('#run-inputs').fill('{"who": "e2e"}');
    await page.getByTestId('run').click();
    await expectText(page.locator('.testrun .badge'), /WAITING/, 'the ask flow waits');
    // The flow list shows it under "waiting for you"; its link opens the execution.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Flows' }).click();
    const waiting = page.getByTestId('waiting');
    await expectText(waiting, /Approve the e2e order\?/, 'waiting-for-you list');
    await waiting.getByRole('link', { name: 'Approve the e2e order?' }).first().click();
    await page.waitForURL(/#\/executions\//, { timeout: T });
    const form = page.getByTestId('message-form');
    await form.waitFor({ timeout: T });
    await expectText(page.getByTestId('status'), /WAITING/, 'status while asking');
    await expectText(form, /Approve the e2e order\?/, 'message subject');
    await expectText(form, /Order 42 for e2e/, 'message body');
    await form.getByLabel('Approved').check();
    await form.getByLabel('Note').fill('looks good');
    await form.getByRole('button', { name: 'Send answer' }).click();
    await expectText(page.getByTestId('status'), /ENDED_SUCCESS/, 'status after the answer');
    if (await form.count()) throw new Error('the message form is still shown after the answer');
    await expectText(page.locator('pre.json'), /"note": "looks good"/, 'outputs after the answer');
    await expectText(page.getByTestId('log').locator('.logline'), /answer: \{"approved":true,"note":"looks good"\}/, 'log after the answer');
  });

  await realOnly('a saved connector: "Requires configuration" until its secret exists, healthy after Test', async () => {
    await page.goto(`${FLOWD_URL}/#/connectors/+new`);
    const form = page.getByRole('form', { name: 'New connector' });
    await form.getByLabel('Name', { exact: true }).fill(connName);
    const def = { connector_type: 'REST', inputs: { url: TARGET_URL, authentication_method: 'bearer', token: { secret: secretName } }, domains: [], description: 'e2e' };
    await form.getByLabel('Definition (JSON)').fill(JSON.stringify(def, null, 2));
    await form.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL((u) => u.hash === `#/connectors/${connName}`, { timeout: T });
    const state = page.getByTestId('connector-state');
    await expectText(state, /Requires configuration/, 'state of a connector whose secret is missing');
    await expectText(state, new RegExp(`secret ${esc(secretName)}`), 'missing secret named');
    await expectText(page.getByTestId('state-words'), /Code 001 means requires configuration: a secret or grant it references does not exist yet/, 'state code in words');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await expectText(page.getByTestId('test-result'), /Test failed: .*requires configuration/, 'test before the secret exists');

    const secretValue = `s3cret-${suffix}`;
    await page.goto(`${FLOWD_URL}/#/secrets/+new`);
    const sform = page.getByRole('form', { name: 'New secret' });
    await sform.getByLabel('Name', { exact: true }).fill(secretName);
    await sform.getByLabel('Value').fill(secretValue);
    await sform.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL((u) => u.hash === `#/secrets/${secretName}`, { timeout: T });
    await expectText(page.locator('.notice'), new RegExp(`Saved secret “${esc(secretName)}”`), 'secret saved');
    await expectText(page.locator('.cfg-editor'), /never shown/, 'secret page');
    if ((await page.locator('body').innerText()).includes(secretValue)) throw new Error('the secret value is shown after saving');
    if ((await page.getByLabel('New value (replaces the stored one)').inputValue()) !== '') throw new Error('the secret value is kept in the form');

    await page.goto(`${FLOWD_URL}/#/connectors/${connName}`);
    await expectText(page.getByTestId('connector-state'), /Not tested/, 'state once the secret exists');
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await expectText(page.getByTestId('test-result'), /Test passed: .*200/, 'test result');
    await expectText(page.getByTestId('connector-state'), /Healthy/, 'state after the test');
    await expectText(page.locator('.cfg-list li', { hasText: connName }), /Healthy/, 'connector list badge');
    await page.screenshot({ path: path.join(ARTIFACTS, 'connector.png'), fullPage: true });
    // Saving again must not send back what the server added (state, last_test, which a
    // strict decoder refuses); a saved change needs a new test.
    await page.getByRole('button', { name: 'Save' }).click();
    await expectText(page.locator('.notice'), new RegExp(`Saved connector “${esc(connName)}”`), 'connector saved again');
    await expectText(page.getByTestId('connector-state'), /Not tested/, 'state after saving again');
  });

  await realOnly('create a webhook, see its call URL and key once, call it', async () => {
    await page.goto(`${FLOWD_URL}/#/webhooks/+new`);
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('Name', { exact: true }).fill(hookName);
    await form.locator('select#fld-flow').waitFor({ timeout: T }); // once the flow names have loaded
    await form.getByLabel('Flow').selectOption(jokeFlow);
    await form.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL((u) => u.hash === `#/webhooks/${hookName}`, { timeout: T });
    const url = (await page.getByTestId('webhook-url').innerText()).trim();
    const want = `${FLOWD_URL}/api/v1/webhooks/${hookName}/call`;
    if (url !== want) throw new Error(`call URL shown is ${url}, want ${want}`);
    const key = (await page.getByTestId('webhook-key').innerText()).trim();
    if (key.length < 16) throw new Error(`webhook key shown is "${key}"`);
    const res = await fetch(url, { method: 'POST', headers: { 'X-Flowd-Key': key, 'Content-Type': 'application/json' }, body: '{"who":"webhook"}' });
    const body = await res.text();
    if (res.status !== 200 || !body.includes('records')) throw new Error(`calling the webhook answered ${res.status}: ${body.slice(0, 300)}`);
    await page.reload();
    await page.getByTestId('webhook-url').waitFor({ timeout: T });
    if (await page.getByTestId('webhook-key').count()) throw new Error('the webhook key is shown again after a reload');
  });

  await realOnly('create an API client, see its secret once, sign in with it', async () => {
    await page.goto(`${FLOWD_URL}/#/clients`);
    const form = page.getByRole('form', { name: 'Create an API client' });
    await form.getByLabel('Name').fill(clientName);
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Create client' }).click();
    const secret = (await page.getByTestId('client-secret').innerText()).trim();
    const id = (await page.getByTestId('client-id').innerText()).trim();
    const tok = await fetch(`${FLOWD_URL}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: id, client_secret: secret }),
    });
    if (tok.status !== 200) throw new Error(`the new client's secret does not sign in: ${tok.status} ${await tok.text()}`);
    await expectText(page.locator('table.list tbody tr'), new RegExp(esc(clientName)), 'clients table');
    await page.reload();
    await expectText(page.locator('table.list tbody tr'), new RegExp(`${esc(clientName)}.*viewer`), 'clients table after a reload');
    if ((await page.locator('body').innerText()).includes(secret)) throw new Error('the client secret is shown again after a reload');
  });

  await realOnly('grants, schedules, settings and files: create from the template, save, delete', async () => {
    const create = async (kind, singular, name, edit) => {
      await page.goto(`${FLOWD_URL}/#/${kind}/+new`);
      const form = page.getByRole('form', { name: `New ${singular}` });
      await form.getByLabel('Name', { exact: true }).fill(name);
      await edit(form);
      await form.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL((u) => u.hash === `#/${kind}/${name}`, { timeout: T });
      await expectText(page.locator('.notice'), new RegExp(`Saved ${singular} “${esc(name)}”`), `${singular} saved`);
      await expectText(page.locator('.cfg-list li'), new RegExp(esc(name)), `${kind} list`);
    };
    await create('grants', 'grant', `e2e_grant_${suffix}`, async (form) => {
      await form.getByLabel('Client ID', { exact: true }).fill('e2e-client');
    });
    await expectDefinition(/"client_id": "e2e-client"/, 'grant definition');
    await create('schedules', 'schedule', `e2e_sched_${suffix}`, async (form) => {
      await form.locator('select#fld-flow').waitFor({ timeout: T });
      await form.getByLabel('Flow', { exact: true }).selectOption(jokeFlow);
      await form.getByLabel('Cron expression').fill('0 3 * * *');
      await form.getByLabel('Enabled').uncheck();
    });
    await expectText(page.locator('.cfg-editor'), /Paused.*next runs/, 'schedule info');
    await create('settings', 'setting', `e2e_setting_${suffix}`, async (form) => {
      await form.getByLabel('Definition (JSON)').fill('{"value": {"cursor": 42}}');
    });
    await expectDefinition(/"cursor": 42/, 'setting value');
    const file = `e2e_file_${suffix}.txt`;
    await create('files', 'file', file, async (form) => {
      await form.getByLabel('Definition (JSON)').fill('{"text": "hello, flowd"}');
    });
    await expectText(page.locator('.cfg-editor'), /12 bytes/, 'file size');
    await expectDefinition(/"text": "hello, flowd"/, 'file text');
    await page.getByRole('button', { name: 'Delete' }).click(); // the confirm dialog is accepted
    await page.waitForURL((u) => u.hash === '#/files', { timeout: T });
    const deadline = Date.now() + T;
    while ((await page.locator('.cfg-list li', { hasText: file }).count()) && Date.now() < deadline) await page.waitForTimeout(100);
    if (await page.locator('.cfg-list li', { hasText: file }).count()) throw new Error('the deleted file is still listed');
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

  await realOnly('executions list: filters by flow, status, type, trigger, time, inputs, and paging', async () => {
    await page.goto(`${FLOWD_URL}/#/executions`);
    await applyFilters({ flow: sleepFlow, status: 'ENDED_CANCELLED' });
    await waitRows((r) => r.length === 1 && r[0].name === sleepFlow && /ENDED_CANCELLED/.test(r[0].status), 'flow + status filter');
    // Top-level runs by default: the test run and the webhook call.
    await applyFilters({ flow: jokeFlow, status: 'ENDED_SUCCESS' });
    await waitRows((r) => r.length === 2 && r.every((x) => x.name === jokeFlow && x.trigger !== 'parent'), 'flow filter, top-level runs');
    // With children: also the child run of the tree flow.
    await applyFilters({ flow: jokeFlow, status: 'ENDED_SUCCESS', children: true });
    await waitRows((r) => r.length === 3 && r.every((x) => x.name === jokeFlow), 'flow filter with children');
    await applyFilters({ type: 'CONNECTION' });
    await waitRows((r) => r.length >= 3 && r.every((x) => x.type === 'CONNECTION'), 'type filter');
    await applyFilters({ trigger: 'webhook' });
    await waitRows((r) => r.length >= 1 && r.every((x) => x.trigger === 'webhook') && r.some((x) => x.name === jokeFlow), 'trigger filter');
    await applyFilters({ trigger: 'parent', flow: jokeFlow });
    await waitRows((r) => r.length === 1 && r[0].trigger === 'parent', 'trigger parent filter');
    // input.who=parent: only the tree flow's child run had that input.
    await applyFilters({ flow: jokeFlow, input: 'who=parent', children: true });
    const byInput = await waitRows((r) => r.length === 1 && r[0].trigger === 'parent', 'input filter');
    if (!page.url().includes('input.who=parent')) throw new Error(`the input filter is not in the URL: ${page.url()}`);
    log(`  input filter: ${byInput.length} row`);
    const p = (n) => String(n).padStart(2, '0');
    const d = new Date(Date.now() + 24 * 3600 * 1000);
    await applyFilters({ since: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}` });
    await expectText(page.getByTestId('executions-table'), /No executions match/, 'since tomorrow');
    if (!/since=/.test(page.url())) throw new Error(`the time filter is not in the URL: ${page.url()}`);
    // Paging with the API's cursor, two per page.
    await page.goto(`${FLOWD_URL}/#/executions?limit=2`);
    const first = await waitRows((r) => r.length === 2, 'first page');
    await page.getByRole('button', { name: 'Older →' }).click();
    const second = await waitRows((r) => r.length >= 1 && !r.some((x) => first.some((y) => y.id === x.id)), 'second page');
    await page.getByRole('button', { name: '← Newer' }).click();
    await waitRows((r) => r.length === 2 && r[0].id === first[0].id, 'back to the first page');
    log(`  pages: ${first.map((x) => x.id.slice(0, 8))} then ${second.map((x) => x.id.slice(0, 8))}`);
  });

  await realOnly('390 px wide: no page scrolls sideways; the menu folds behind a button', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${FLOWD_URL}/#/executions?flow=${treeFlow}`);
    const [tree] = await waitRows((r) => r.length >= 1, 'a tree flow run');
    const pages = [
      ['#/flows', '[data-testid=flows-table]'],
      [`#/flows/${jokeFlow}`, '.cm-content'],
      ['#/executions', '[data-testid=executions-table]'],
      [`#/executions/${tree.id}`, '[data-testid=tree-node]'],
      [`#/connectors/${connName}`, '[data-testid=connector-state]'],
      [`#/webhooks/${hookName}`, '[data-testid=webhook-url]'],
      ['#/schedules', '.cfg-list'],
      ['#/clients', 'table.list'],
    ];
    const wide = [];
    for (const [hash, ready] of pages) {
      await page.goto(`${FLOWD_URL}/${hash}`);
      await page.locator(ready).first().waitFor({ timeout: T });
      await page.waitForLoadState('networkidle').catch(() => undefined);
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      log(`  ${hash}: ${w} px`);
      if (w > 390) wide.push(`${hash} is ${w} px wide`);
      if (hash === '#/flows') await page.screenshot({ path: path.join(ARTIFACTS, 'narrow-flows.png'), fullPage: false });
    }
    if (wide.length) throw new Error(`pages wider than 390 px: ${wide.join('; ')}`);
    const nav = page.getByRole('navigation', { name: 'Main' });
    if (await nav.isVisible()) throw new Error('the menu is open at 390 px before the Menu button is pressed');
    await page.getByRole('button', { name: 'Menu' }).click();
    await nav.getByRole('link', { name: 'Flows' }).click();
    await page.waitForURL((u) => u.hash === '#/flows', { timeout: T });
    await until(async () => !(await nav.isVisible()), 'the menu stays open after following a link');
    await page.setViewportSize({ width: 1360, height: 1000 });
  });

  await run('who started a run and who wrote a revision; a second tab and a reload keep the session', async () => {
    // Step 2's test run and save were the user's: the execution names them, and so does the revision.
    await page.goto(`${FLOWD_URL}/#/executions?flow=${encodeURIComponent(jokeFlow)}`);
    await expectText(page.getByTestId('row-started-by'), new RegExp(`^user:${esc(userName)}$`), 'the executions list names who started the run');
    // (The newest run may be the webhook's of a later step: open one the user started.)
    await page.getByTestId('executions-table').locator('tbody tr', { has: page.getByTestId('row-started-by').filter({ hasText: `user:${userName}` }) }).first().locator('a.mono').click();
    await expectText(page.getByTestId('started-by'), new RegExp(`user:${esc(userName)}`), 'the execution page names who started it');
    await page.goto(`${FLOWD_URL}/#/flows/${encodeURIComponent(jokeFlow)}`);
    await page.locator('.cm-content').waitFor({ timeout: T });
    await page.getByRole('button', { name: 'History' }).click();
    await expectText(page.getByTestId('revision-author'), new RegExp(`by user:${esc(userName)}`), 'the flow history names the revision author');
    // A second tab (same browser) is signed in by the cookie, and so is a reload.
    const p2 = await context.newPage();
    await p2.goto(`${FLOWD_URL}/#/executions`);
    await p2.getByTestId('executions-table').waitFor({ timeout: T });
    await expectText(p2.getByTestId('who'), new RegExp(esc(userName)), 'the second tab is signed in as the user');
    await page.reload();
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T });
    await expectText(page.getByTestId('who'), new RegExp(esc(userName)), 'after a reload the user is still signed in');
    // After the reload the CSRF token came from GET /auth/me: a save still works.
    await page.locator('.cm-content').waitFor({ timeout: T });
    await saveWithKeyboard();
    await p2.close();
  });

  await run('CSRF: a POST without the header, and a forged form from another origin, get 403', async () => {
    await page.goto(`${FLOWD_URL}/#/flows`);
    await page.getByRole('heading', { name: 'Flows' }).waitFor({ timeout: T });
    const startURL = `${FLOWD_URL}/api/v1/flows/${encodeURIComponent(jokeFlow)}/executions`;
    const before = (await apiCall(`/executions?flow=${encodeURIComponent(jokeFlow)}&limit=100`)).items.length;
    const noHeader = await pageFetch(page, startURL, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"inputs":{}}' });
    if (noHeader.status !== 403 || !/X-CSRF-Token/.test(noHeader.text)) throw new Error(`a POST without X-CSRF-Token answered ${noHeader.status}: ${noHeader.text}`);
    // Another origin on the same host (another port): the same site for the browser, so
    // SameSite=Lax sends the cookie; the missing token (and the Origin) must refuse it.
    const evil = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><form id="f" method="POST" action="${startURL}" enctype="text/plain"><input name='{"inputs":{},"x":"' value='"}'><button>Win a prize</button></form>`);
    });
    await new Promise((r) => evil.listen(0, new URL(FLOWD_URL).hostname, r));
    try {
      const evilURL = `http://${new URL(FLOWD_URL).hostname}:${evil.address().port}/`;
      await page.goto(evilURL);
      const [resp] = await Promise.all([page.waitForResponse((r) => r.url() === startURL, { timeout: T }), page.getByRole('button', { name: 'Win a prize' }).click()]);
      const text = await resp.text().catch(() => '');
      if (resp.status() !== 403) throw new Error(`the forged cross-origin form POST answered ${resp.status()}: ${text}`);
      log(`  forged form: ${resp.status()} ${text.slice(0, 160)}`);
    } finally {
      evil.close();
    }
    const after = (await apiCall(`/executions?flow=${encodeURIComponent(jokeFlow)}&limit=100`)).items.length;
    if (after !== before) throw new Error(`a refused request started an execution (${before} -> ${after})`);
    await page.goto(`${FLOWD_URL}/#/flows`);
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T });
  });

  await run('users page: create, change the role, reset the password, disable, delete', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor({ timeout: T });
    const form = page.getByRole('form', { name: 'Create a user' });
    for (const [n, r] of [
      [viewerName, 'viewer'],
      [tempName, 'runner'],
    ]) {
      await form.getByLabel('Username').fill(n);
      await form.getByLabel('Password').fill(password);
      await form.getByLabel('Role').selectOption(r);
      await form.getByRole('button', { name: 'Create user' }).click();
      await page.locator(`tr[data-user="${n}"]`).waitFor({ timeout: T });
    }
    const row = page.locator(`tr[data-user="${tempName}"]`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'users.png'), fullPage: false });
    await row.getByLabel(`Role of ${tempName}`).selectOption('editor');
    await until(async () => (await apiCall(`/users/${tempName}`)).role === 'editor', 'the role change did not reach the server');
    promptAnswer = `${password}-new`;
    await row.getByRole('button', { name: `Reset the password of ${tempName}` }).click();
    await page.getByText(new RegExp(`Password of “${esc(tempName)}” reset`)).waitFor({ timeout: T });
    const login = await fetch(`${FLOWD_URL}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: tempName, password: promptAnswer }) });
    if (login.status !== 200) throw new Error(`the reset password does not sign in: ${login.status} ${await login.text()}`);
    await row.getByRole('button', { name: `Disable ${tempName}` }).click();
    await row.getByText('disabled').waitFor({ timeout: T });
    await row.getByRole('button', { name: `Delete ${tempName}` }).click();
    await row.waitFor({ state: 'detached', timeout: T });
    if (await page.locator('.error').count()) throw new Error(await page.locator('.error').first().innerText());
  });

  await run('a viewer user sees no Save or Run, no admin pages, and a clear message when forced', async () => {
    const ctx = await otherContext();
    const v = await ctx.newPage();
    v.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    v.on('dialog', (d) => d.accept().catch(() => undefined));
    await v.goto(`${FLOWD_URL}/`);
    await signInUser(v, viewerName, password);
    const nav = v.getByRole('navigation', { name: 'Main' });
    for (const admin of ['Users', 'Audit', 'API clients']) if (await nav.getByRole('link', { name: admin }).count()) throw new Error(`a viewer sees the ${admin} page in the menu`);
    await v.getByRole('heading', { name: 'Flows' }).waitFor({ timeout: T });
    await v.locator('tr', { hasText: jokeFlow }).first().waitFor({ timeout: T });
    if (await v.getByTestId('flow-run').count()) throw new Error('a viewer sees Run on the flow list');
    await v.goto(`${FLOWD_URL}/#/flows/${encodeURIComponent(jokeFlow)}`);
    await v.locator('.cm-content').waitFor({ timeout: T });
    await v.getByTestId('read-only').waitFor({ timeout: T });
    if (await v.getByTestId('save').count()) throw new Error('a viewer sees Save');
    if (await v.getByTestId('run').count()) throw new Error('a viewer sees Run');
    await v.locator('.cm-content').click();
    await v.keyboard.press(`${mod}+s`);
    await expectText(v.locator('.error'), /Your role \(viewer\) cannot save flows/, 'Ctrl+S as a viewer');
    await v.goto(`${FLOWD_URL}/#/users`);
    await expectText(v.getByTestId('role-refused'), /for admins.*role viewer/, 'the Users page opened by its address');
    // Forced past the UI (with the right CSRF token), the server refuses by role.
    const forced = await v.evaluate(async (url) => {
      const me = await (await fetch('/api/v1/auth/me')).json();
      const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token }, body: '{"inputs":{}}' });
      return { status: r.status, text: await r.text() };
    }, `/api/v1/flows/${encodeURIComponent(jokeFlow)}/executions`);
    if (forced.status !== 403) throw new Error(`a viewer's start answered ${forced.status}: ${forced.text}`);
    await ctx.close();
  });

  await run('your sessions: another browser of the user is listed and revoked', async () => {
    const ctx = await otherContext();
    const o = await ctx.newPage();
    await o.goto(`${FLOWD_URL}/`);
    await signInUser(o, userName, password);
    await page.goto(`${FLOWD_URL}/#/sessions`);
    const rows = page.getByTestId('sessions-table').locator('tbody tr');
    await until(async () => (await rows.count()) >= 2, 'the sessions page does not list both browsers');
    if ((await page.locator('tr[data-current="true"]').count()) !== 1) throw new Error('exactly one session should be marked as this one');
    await page.getByTestId('sessions-table').locator('tbody tr:not([data-current])').first().getByRole('button', { name: 'Revoke' }).click();
    await until(async () => (await rows.count()) === 1, 'the revoked session is still listed');
    // The other browser is signed out at its next request (a page change, or its own
    // polling of "Waiting for you" if that comes first).
    await o.evaluate(() => (location.hash = '#/executions'));
    await o.getByLabel('Username').waitFor({ timeout: T });
    await expectText(o.locator('.notice'), /session has ended|sign in again/i, 'the revoked browser says why it was signed out');
    await ctx.close();
  });

  await run('the audit page lists what the user did in this test', async () => {
    await page.goto(`${FLOWD_URL}/#/audit`);
    await page.getByRole('heading', { name: 'Audit' }).waitFor({ timeout: T });
    const form = page.getByRole('form', { name: 'Filter the audit log' });
    const actions = CORE_ONLY ? ['session.login', 'flow.save', 'user.create', 'user.update', 'user.delete'] : ['session.login', 'flow.save', 'execution.draft_run', 'execution.start', 'execution.cancel', 'user.create', 'user.update', 'user.delete'];
    for (const a of actions) {
      await form.getByLabel('Actor').fill(`user:${userName}`);
      await form.getByLabel('Action').fill(a);
      await form.getByRole('button', { name: 'Apply' }).click();
      await expectText(page.getByTestId('audit-table').locator(`tr[data-action="${a}"]`), new RegExp(esc(`user:${userName}`)), `the audit entry ${a} of user:${userName}`).catch(async (e) => {
        const got = await apiCall(`/audit?actor=${encodeURIComponent(`user:${userName}`)}&limit=200`).catch((x) => ({ items: [{ action: String(x) }] }));
        throw new Error(`${e.message}\n(the API lists for this actor: ${[...new Set(got.items.map((x) => x.action))].join(', ') || 'nothing'})`);
      });
    }
    await form.getByLabel('Actor').fill('');
    await form.getByLabel('Action').fill('user.create');
    await form.getByLabel('Target').fill(viewerName);
    await form.getByRole('button', { name: 'Apply' }).click();
    await expectText(page.getByTestId('audit-table').locator('tr[data-action="user.create"]'), new RegExp(esc(viewerName)), 'the audit entry of the viewer user created on the Users page');
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png'), fullPage: false });
  });

  await run('sign out: the session ends, and the other tab gets the sign-in page at its next request', async () => {
    const p2 = await context.newPage();
    await p2.goto(`${FLOWD_URL}/#/flows`);
    await p2.getByRole('heading', { name: 'Flows' }).waitFor({ timeout: T });
    await page.goto(`${FLOWD_URL}/#/flows`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor({ timeout: T });
    if ((await context.cookies(FLOWD_URL)).some((c) => c.name === 'flowd_session' && c.value)) throw new Error('the session cookie is still set after signing out');
    await p2.evaluate(() => (location.hash = '#/executions'));
    await p2.getByLabel('Username').waitFor({ timeout: T });
    await page.reload();
    await page.getByLabel('Username').waitFor({ timeout: T });
    await p2.close();
  });

  if (SSO_URL) {
    await run(`single sign-on: "Sign in with ${process.env.SSO_NAME}" signs ${process.env.SSO_USER} in as ${process.env.SSO_ROLE}`, async () => {
      const ctx = await otherContext();
      const s = await ctx.newPage();
      s.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
      await s.goto(`${SSO_URL}/#/executions`);
      await s.getByRole('link', { name: `Sign in with ${process.env.SSO_NAME}` }).waitFor({ timeout: T });
      await s.screenshot({ path: path.join(ARTIFACTS, 'sign-in.png'), fullPage: false });
      await s.getByRole('link', { name: `Sign in with ${process.env.SSO_NAME}` }).click();
      await s.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T });
      await expectText(s.getByTestId('who'), new RegExp(`${esc(process.env.SSO_USER)} \\(${esc(process.env.SSO_ROLE)}\\)`), 'the header after single sign-on');
      // Back where the sign-in started, and the session is a cookie session like any user's.
      await s.getByTestId('executions-table').waitFor({ timeout: T });
      const me = await pageFetch(s, '/api/v1/auth/me', {});
      if (me.status !== 200 || !JSON.parse(me.text).csrf_token) throw new Error(`GET /auth/me after single sign-on: ${me.status} ${me.text}`);
      await s.reload();
      await expectText(s.getByTestId('who'), new RegExp(esc(process.env.SSO_USER)), 'after a reload the SSO user is still signed in');
      await ctx.close();
    });
  }

  await realOnly('keyboard sign-in with an API client in a new tab; the token is renewed before it expires', async () => {
    const p2 = await context.newPage();
    p2.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    await p2.clock.install();
    await p2.goto(`${FLOWD_URL}/`);
    // Username has the focus; Tab along to "Sign in with an API client" and press Enter.
    await p2.getByLabel('Username').waitFor({ timeout: T });
    for (let i = 0; i < 6; i++) {
      await p2.keyboard.press('Tab');
      if ((await p2.evaluate(() => document.activeElement?.textContent?.trim())) === 'Sign in with an API client') break;
    }
    await p2.keyboard.press('Enter');
    // Client ID has the focus; Tab to the secret, Enter submits.
    await p2.getByLabel('Client ID').waitFor({ timeout: T });
    await until(async () => (await p2.evaluate(() => document.activeElement?.getAttribute('name'))) === 'client_id', 'Client ID does not get the focus');
    await p2.keyboard.type(CLIENT_ID);
    await p2.keyboard.press('Tab');
    await p2.keyboard.type(CLIENT_SECRET);
    await p2.keyboard.press('Enter');
    await p2.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: T });
    await p2.keyboard.press('Tab');
    const focused = await p2.evaluate(() => document.activeElement?.textContent?.trim());
    if (focused !== 'Skip to content') throw new Error(`the first Tab stop is "${focused}", not the skip link`);
    const before = await p2.evaluate(() => JSON.parse(sessionStorage.getItem('flowd.session')));
    const lifetime = before.expiresAt - (await p2.evaluate(() => Date.now()));
    // Jump to 85 % of the token's lifetime: the renewal (due at 80 %) must have happened.
    await p2.clock.fastForward(Math.round(lifetime * 0.85));
    const deadline = Date.now() + T;
    let after = before;
    while (after.token === before.token && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = await p2.evaluate(() => JSON.parse(sessionStorage.getItem('flowd.session') || 'null')) ?? before;
    }
    if (after.token === before.token) throw new Error('the token was not renewed at 85 % of its lifetime');
    await p2.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions' }).click();
    await p2.getByTestId('executions-table').waitFor({ timeout: T });
    if (await p2.locator('.error').count()) throw new Error(`error after the renewal: ${await p2.locator('.error').first().innerText()}`);
    await p2.close();
  });

  await context.close();
  await otherBrowser?.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  if (consoleErrors.length) log(`browser console errors (not fatal):\n  ${consoleErrors.join('\n  ')}`);
  log(`PASS: all steps passed; screenshots in ${ARTIFACTS}`);
  passed++;
  console.log(`${passed} passed, 0 failed${skipped ? `, ${skipped} skipped` : ''}`);
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
  await otherBrowser?.close().catch(() => undefined);
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}
