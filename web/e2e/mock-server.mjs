// A small in-memory stand-in for flowd's HTTP API (docs/http-api.md), for
// developing the web UI without the real server. It serves web/dist with an
// SPA fallback. Scripts are "run" in node:vm with synchronous stubs:
// this.connect() calls are fetched before the handler runs (by URL literal),
// this.sleep() parks the execution in WAITING until it is cancelled or the
// time is up. It is NOT the product: the real e2e runs against flowd.
//
//   node e2e/mock-server.mjs [port]   (env MOCK_CLIENT_ID / MOCK_CLIENT_SECRET,
//   MOCK_ADMIN_USER / MOCK_ADMIN_PASSWORD for the admin user: admin / secret-password)
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(here, '../dist');
const CLIENT_ID = process.env.MOCK_CLIENT_ID || 'admin';
const CLIENT_SECRET = process.env.MOCK_CLIENT_SECRET || 'secret';

const tokens = new Map(); // token -> expiry ms
const flows = new Map(); // name -> {name, revisions: [{revision, script, description, created_at}]}
const exes = new Map(); // id -> execution
const order = []; // ids, creation order
const logs = new Map(); // id -> [{seq, ts, level, message}]
const subs = new Map(); // id -> Set(fn(event, data))
const kinds = ['connectors', 'secrets', 'grants', 'webhooks', 'schedules', 'settings', 'files'];
const store = Object.fromEntries(kinds.map((k) => [k, new Map()]));
const clients = new Map([[CLIENT_ID, { id: CLIENT_ID, name: 'admin', role: 'admin', created_at: new Date().toISOString(), secret: CLIENT_SECRET }]]);
const users = new Map([[process.env.MOCK_ADMIN_USER || 'admin', { username: process.env.MOCK_ADMIN_USER || 'admin', role: 'admin', source: 'password', disabled: false, created_at: new Date().toISOString(), updated_at: new Date().toISOString(), password: process.env.MOCK_ADMIN_PASSWORD || 'secret-password' }]]);
const sessions = new Map(); // cookie value -> {id, username, csrf, created_at, expires_at}
const auditLog = []; // newest last
let actor = ''; // the principal of the request being handled
let seqId = 0;
const publicUser = ({ password, ...u }) => u;
function audit(req, action, target_type, target, detail = {}) {
  auditLog.push({ id: String(auditLog.length + 1), at: new Date().toISOString(), actor, actor_kind: actor.split(':')[0], action, target_type, target, address: req.socket.remoteAddress, detail });
}
function cookieSession(req) {
  const m = /(?:^|;\s*)flowd_session=([^;]+)/.exec(req.headers.cookie || '');
  return m ? sessions.get(m[1]) : undefined;
}

const now = () => new Date().toISOString();
const newId = () => `${Date.now().toString(36)}${(seqId++).toString(36).padStart(4, '0')}${crypto.randomBytes(4).toString('hex')}`;

function send(res, status, body) {
  const s = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(s);
}
const err = (res, status, code, message, extra = {}) => send(res, status, { error: { code, message, ...extra } });

async function readJSON(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString();
  if (!raw) return {};
  if ((req.headers['content-type'] || '').includes('x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  return JSON.parse(raw);
}

function emit(id, event, data) {
  for (const fn of subs.get(id) || []) fn(event, data);
}

function addLog(id, level, message) {
  const list = logs.get(id) || [];
  const line = { seq: list.length + 1, ts: now(), level, message };
  list.push(line);
  logs.set(id, list);
  emit(id, 'log', line);
}

function setStatus(x, status, message) {
  x.status = status;
  if (message !== undefined) x.status_message = message;
  if (status === 'RUNNING' && !x.started_at) x.started_at = now();
  if (status.startsWith('ENDED_')) x.ended_at = now();
  emit(x.id, 'status', x);
  if (status.startsWith('ENDED_')) emit(x.id, 'end', x);
}

function newExe(fields) {
  const x = {
    id: newId(),
    type: 'FLOW',
    status: 'PENDING',
    status_message: null,
    parent_id: null,
    root_id: null,
    flow_revision: null,
    inputs: {},
    outputs: {},
    created_at: now(),
    started_at: null,
    ended_at: null,
    trigger: 'api',
    started_by: fields.parent_id ? null : actor || null,
    ...fields,
  };
  if (!x.root_id) x.root_id = x.parent_id ? exes.get(x.parent_id).root_id : x.id;
  exes.set(x.id, x);
  order.push(x.id);
  logs.set(x.id, []);
  return x;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function checkScript(script) {
  try {
    new vm.Script(script, { filename: 'flow.js' });
  } catch (e) {
    const m = /flow\.js:(\d+)/.exec(e.stack || '');
    return { line: m ? Number(m[1]) : 1, column: 1, message: `SyntaxError: ${e.message}` };
  }
  if (!/function\s+handler\s*\(|handler\s*=/.test(script)) return { line: 1, column: 1, message: 'the script defines no handler function' };
  return null;
}

async function runFlow(x, script) {
  await sleep(150);
  setStatus(x, 'RUNNING');
  // Prefetch this.connect() calls by URL literal, as CONNECTION children.
  const urls = [...script.matchAll(/this\.connect\(\s*\{[^}]*?url\s*:\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
  const results = [];
  for (const url of urls) {
    const c = newExe({ type: 'CONNECTION', name: 'REST', parent_id: x.id, inputs: { connector_type: 'REST', url, method: 'GET' } });
    setStatus(c, 'RUNNING');
    addLog(x.id, 'info', `connect REST GET ${url}`);
    try {
      const r = await fetch(url);
      const text = await r.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      c.outputs = { status_code: r.status, headers: Object.fromEntries(r.headers), ...(json !== undefined ? { json } : { text }), status: 'success', execution_id: c.id };
      setStatus(c, r.status < 400 ? 'ENDED_SUCCESS' : 'ENDED_ERROR', r.status < 400 ? null : `status ${r.status}`);
    } catch (e) {
      c.outputs = { status: 'error', message: String(e) };
      setStatus(c, 'ENDED_ERROR', String(e));
    }
    results.push(c);
    await sleep(200);
  }
  const pending = [];
  let ended = null;
  const SLEEP = Symbol('sleep');
  const handle = (c) => ({ get: (f) => ({ output_value: c.outputs, input_value: c.inputs, status: c.status, status_message: c.status_message, id: c.id, name: c.name })[f] });
  const self = {
    log: (...a) => pending.push(['info', a.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(' ')]),
    connect: () => handle(results.shift() || { outputs: {}, inputs: {} }),
    sleep: (s) => {
      throw { [SLEEP]: s };
    },
    set_output: (k, v) => (x.outputs[k] = v),
    success: (m) => {
      ended = ['ENDED_SUCCESS', m];
      throw { [SLEEP]: null, end: true };
    },
    error: (m) => {
      ended = ['ENDED_ERROR', m];
      throw { [SLEEP]: null, end: true };
    },
    get: (f) => handle(x).get(f),
    message: () => {
      throw { message: true };
    },
  };
  const consoleStub = { log: self.log, info: self.log, warn: (...a) => pending.push(['warn', a.join(' ')]), error: (...a) => pending.push(['error', a.join(' ')]) };
  let out;
  let sleepFor = null;
  let thrown = null;
  let waitMessage = false;
  try {
    const ctx = vm.createContext({ console: consoleStub });
    new vm.Script(script, { filename: 'flow.js' }).runInContext(ctx, { timeout: 1000 });
    out = ctx.handler.call(self, {}, x.inputs || {});
  } catch (e) {
    if (e && e[SLEEP] !== undefined) sleepFor = e.end ? null : e[SLEEP];
    else if (e && e.message === true) waitMessage = true;
    else thrown = e;
  }
  for (const [lvl, m] of pending) {
    addLog(x.id, lvl, m);
    await sleep(250);
  }
  if (x.status.startsWith('ENDED_')) return;
  if (sleepFor != null) {
    addLog(x.id, 'info', `sleeping ${sleepFor} s`);
    setStatus(x, 'WAITING');
    const until = Date.now() + sleepFor * 1000;
    while (Date.now() < until && !x.status.startsWith('ENDED_')) await sleep(200);
    if (!x.status.startsWith('ENDED_')) setStatus(x, 'ENDED_SUCCESS', null);
    return;
  }
  if (waitMessage) {
    x.outputs = { message: { subject: 'Approve?', body: 'Please answer', fields: [{ name: 'approved', type: 'boolean' }, { name: 'comment', type: 'string' }] } };
    setStatus(x, 'WAITING');
    return;
  }
  if (thrown) {
    addLog(x.id, 'error', String(thrown));
    setStatus(x, 'ENDED_ERROR', String(thrown));
    return;
  }
  if (ended) {
    setStatus(x, ended[0], typeof ended[1] === 'string' ? ended[1] : JSON.stringify(ended[1]));
    return;
  }
  x.outputs = out && typeof out === 'object' && !Array.isArray(out) ? { ...x.outputs, ...out } : { result: out };
  setStatus(x, 'ENDED_SUCCESS', null);
}

function cancel(x) {
  for (const c of order.map((i) => exes.get(i)).filter((c) => c.parent_id === x.id)) if (!c.status.startsWith('ENDED_')) cancel(c);
  if (!x.status.startsWith('ENDED_')) {
    addLog(x.id, 'warn', 'cancelled');
    setStatus(x, 'ENDED_CANCELLED', 'cancelled by user');
  }
}

function serveStatic(req, res, pathname) {
  let f = path.join(DIST, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ''));
  if (!f.startsWith(DIST) || !fs.existsSync(f) || fs.statSync(f).isDirectory()) f = path.join(DIST, 'index.html');
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  res.writeHead(200, { 'Content-Type': types[path.extname(f)] || 'application/octet-stream' });
  fs.createReadStream(f).pipe(res);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const p = url.pathname;
  try {
    if (!p.startsWith('/api/v1/')) return serveStatic(req, res, p);
    const parts = p.slice('/api/v1/'.length).split('/').map(decodeURIComponent);
    const m = req.method;
    if (parts[0] === 'auth' && parts[1] === 'token' && m === 'POST') {
      const b = await readJSON(req);
      const c = clients.get(b.client_id);
      if (b.grant_type !== 'client_credentials') return err(res, 400, 'unsupported_grant_type', 'grant_type must be client_credentials');
      if (!c || c.secret !== b.client_secret) return err(res, 401, 'invalid_client', 'Unknown client or wrong secret');
      const t = crypto.randomBytes(16).toString('hex');
      const ttl = Number(process.env.MOCK_TOKEN_TTL || 3600);
      tokens.set(t, Date.now() + ttl * 1000);
      return send(res, 200, { access_token: t, token_type: 'Bearer', expires_in: ttl });
    }
    if (parts[0] === 'auth' && parts[1] === 'methods' && m === 'GET') return send(res, 200, { password: true, oidc: null });
    if (parts[0] === 'auth' && parts[1] === 'login' && m === 'POST') {
      const b = await readJSON(req);
      const u = users.get(b.username);
      if (!u || u.disabled || u.password !== b.password) return err(res, 401, 'unauthorized', 'wrong username or password');
      const value = crypto.randomBytes(16).toString('hex');
      const se = { id: crypto.randomBytes(8).toString('hex'), username: u.username, csrf: crypto.randomBytes(16).toString('hex'), created_at: now(), expires_at: new Date(Date.now() + 12 * 3600e3).toISOString(), address: req.socket.remoteAddress, user_agent: req.headers['user-agent'] || '' };
      sessions.set(value, se);
      actor = `user:${u.username}`;
      audit(req, 'session.login', 'user', u.username);
      res.setHeader('Set-Cookie', `flowd_session=${value}; Path=/; HttpOnly; SameSite=Lax`);
      return send(res, 200, { username: u.username, role: u.role, csrf_token: se.csrf, expires_at: se.expires_at });
    }
    const auth = req.headers.authorization || '';
    const tok = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    let principal;
    if (auth) {
      if (!tokens.has(tok) || tokens.get(tok) < Date.now()) return err(res, 401, 'unauthorized', 'Missing or invalid bearer token');
      principal = { kind: 'client', name: CLIENT_ID, role: 'admin' };
    } else {
      const se = cookieSession(req);
      const u = se && users.get(se.username);
      if (!u || u.disabled) return err(res, 401, 'unauthorized', 'sign in (POST /api/v1/auth/login), or send Authorization: Bearer <token>');
      if (!['GET', 'HEAD', 'OPTIONS'].includes(m) && req.headers['x-csrf-token'] !== se.csrf) return err(res, 403, 'forbidden', 'send the header X-CSRF-Token with the csrf_token from POST /api/v1/auth/login or GET /api/v1/auth/me');
      principal = { kind: 'user', name: u.username, role: u.role, session: se };
    }
    actor = `${principal.kind}:${principal.name}`;
    const ranks = ['viewer', 'runner', 'editor', 'admin'];
    // The mock checks roles only where the UI hides things: writes need editor, admin pages admin.
    const needs = parts[0] === 'users' || parts[0] === 'audit' || parts[0] === 'clients' ? 'admin' : m === 'GET' || parts[0] === 'auth' ? 'viewer' : parts[0] === 'executions' || parts[2] === 'executions' ? 'runner' : 'editor';
    if (ranks.indexOf(principal.role) < ranks.indexOf(needs)) return err(res, 403, 'forbidden', `this needs the ${needs} role`);

    if (parts[0] === 'auth') {
      if (parts[1] === 'me' && m === 'GET') return send(res, 200, { kind: principal.kind, name: principal.name, role: principal.role, ...(principal.session ? { csrf_token: principal.session.csrf } : {}) });
      if (parts[1] === 'logout' && m === 'POST' && principal.session) {
        for (const [k, v] of sessions) if (v === principal.session) sessions.delete(k);
        audit(req, 'session.logout', 'user', principal.name);
        res.writeHead(204, { 'Set-Cookie': 'flowd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax' });
        return res.end();
      }
      if (parts[1] === 'sessions' && principal.session) {
        const mine = [...sessions.entries()].filter(([, v]) => v.username === principal.name);
        if (m === 'GET' && parts.length === 2) return send(res, 200, { items: mine.map(([, v]) => ({ id: v.id, created_at: v.created_at, last_seen_at: now(), expires_at: v.expires_at, address: v.address, user_agent: v.user_agent, current: v === principal.session })) });
        const hit = mine.find(([, v]) => v.id === parts[2]);
        if (m === 'DELETE' && hit) { sessions.delete(hit[0]); res.writeHead(204); return res.end(); }
        return err(res, 404, 'not_found', 'no such session of yours');
      }
    }

    // Users and the audit log
    if (parts[0] === 'users') {
      if (parts.length === 1 && m === 'GET') return send(res, 200, { items: [...users.values()].map(publicUser) });
      if (parts.length === 1 && m === 'POST') {
        const b = await readJSON(req);
        if (users.has(b.username)) return err(res, 409, 'conflict', `user ${b.username} exists`);
        if (!b.password || b.password.length < 12) return err(res, 400, 'bad_request', 'password: use at least 12 characters');
        const u = { username: b.username, role: b.role || 'viewer', source: 'password', disabled: false, created_at: now(), updated_at: now(), password: b.password };
        users.set(u.username, u);
        audit(req, 'user.create', 'user', u.username, { role: u.role });
        return send(res, 201, publicUser(u));
      }
      const u = users.get(parts[1]);
      if (!u) return err(res, 404, 'not_found', `user ${parts[1]} not found`);
      if (m === 'GET') return send(res, 200, publicUser(u));
      if (m === 'PATCH') {
        const b = await readJSON(req);
        for (const k of ['role', 'password', 'disabled']) if (b[k] !== undefined) u[k] = b[k];
        u.updated_at = now();
        if (b.password !== undefined || b.disabled) for (const [k, v] of sessions) if (v.username === u.username) sessions.delete(k);
        audit(req, 'user.update', 'user', u.username, { role: b.role });
        return send(res, 200, publicUser(u));
      }
      if (m === 'DELETE') { users.delete(u.username); audit(req, 'user.delete', 'user', u.username); res.writeHead(204); return res.end(); }
    }
    if (parts[0] === 'audit' && m === 'GET') {
      const q = url.searchParams;
      let list = auditLog.slice().reverse().filter((e) => (!q.get('actor') || e.actor === q.get('actor')) && (!q.get('action') || e.action === q.get('action')) && (!q.get('target') || e.target === q.get('target')));
      const start = Number(q.get('cursor') || 0);
      const limit = Number(q.get('limit') || 50);
      const next = start + limit < list.length ? String(start + limit) : null;
      return send(res, 200, { items: list.slice(start, start + limit), next_cursor: next });
    }

    // Flows
    if (parts[0] === 'flows') {
      const name = parts[1];
      if (!name && m === 'GET')
        return send(res, 200, { items: [...flows.values()].map((f) => { const r = f.revisions.at(-1); return { name: f.name, revision: r.revision, description: r.description, updated_at: r.created_at }; }) });
      const f = flows.get(name);
      if (parts.length === 2) {
        if (m === 'PUT') {
          const b = await readJSON(req);
          if (typeof b.script !== 'string') return err(res, 400, 'bad_request', 'script is required');
          const bad = checkScript(b.script);
          if (bad) return err(res, 422, 'invalid_script', bad.message, { line: bad.line, column: bad.column });
          const fl = f || { name, revisions: [] };
          const rev = { revision: fl.revisions.length + 1, script: b.script, description: b.description || '', created_at: now() };
          rev.author = actor;
          fl.revisions.push(rev);
          audit(req, 'flow.save', 'flow', name, { revision: rev.revision });
          flows.set(name, fl);
          return send(res, f ? 200 : 201, { name, revision: rev.revision, description: rev.description, created_at: rev.created_at });
        }
        if (!f) return err(res, 404, 'not_found', `flow ${name} not found`);
        if (m === 'GET') { const r = f.revisions.at(-1); return send(res, 200, { name, revision: r.revision, script: r.script, description: r.description, updated_at: r.created_at }); }
        if (m === 'DELETE') { flows.delete(name); res.writeHead(204); return res.end(); }
      }
      if (!f) return err(res, 404, 'not_found', `flow ${name} not found`);
      if (parts[2] === 'revisions' && m === 'GET') return send(res, 200, { items: [...f.revisions].reverse() });
      if (parts[2] === 'executions' && m === 'POST') {
        const b = await readJSON(req);
        const r = f.revisions.at(-1);
        const x = newExe({ name, flow_revision: r.revision, inputs: b.inputs || {} });
        runFlow(x, r.script);
        return send(res, 201, x);
      }
      if (parts[2] === 'draft-runs' && m === 'POST') {
        // The unsaved script of the editor: no revision is added.
        const b = await readJSON(req);
        if (typeof b.script !== 'string') return err(res, 400, 'bad_request', 'script is required');
        const bad = checkScript(b.script);
        if (bad) return err(res, 422, 'invalid_script', bad.message, { line: bad.line, column: bad.column });
        const x = newExe({ name, flow_revision: f.revisions.at(-1).revision, inputs: b.inputs || {}, trigger: 'draft' });
        runFlow(x, b.script);
        return send(res, 201, x);
      }
    }

    // Executions
    if (parts[0] === 'executions') {
      if (parts.length === 1 && m === 'GET') {
        const q = url.searchParams;
        let list = order.map((i) => exes.get(i)).reverse();
        for (const k of ['status', 'type', 'trigger', 'parent_id', 'root_id']) if (q.get(k)) list = list.filter((x) => x[k] === q.get(k));
        if (q.get('top_level') === 'true') list = list.filter((x) => !x.parent_id);
        if (q.get('flow')) list = list.filter((x) => x.type === 'FLOW' && x.name === q.get('flow'));
        if (q.get('since')) list = list.filter((x) => x.created_at >= q.get('since'));
        if (q.get('until')) list = list.filter((x) => x.created_at < q.get('until'));
        const off = Number(q.get('cursor') || 0);
        const lim = Number(q.get('limit') || 50);
        const page = list.slice(off, off + lim);
        return send(res, 200, { items: page, next_cursor: off + lim < list.length ? String(off + lim) : null });
      }
      const x = exes.get(parts[1]);
      if (!x) return err(res, 404, 'not_found', 'execution not found');
      if (parts.length === 2 && m === 'GET') return send(res, 200, x);
      if (parts[2] === 'children') return send(res, 200, { items: order.map((i) => exes.get(i)).filter((c) => c.parent_id === x.id) });
      if (parts[2] === 'cancel' && m === 'POST') {
        cancel(x);
        return send(res, 200, x);
      }
      if (parts[2] === 'messages' && m === 'POST') {
        const b = await readJSON(req);
        if (x.status !== 'WAITING' || !x.outputs.message) return err(res, 409, 'conflict', 'no pending message');
        x.outputs = { answer: b.answer };
        addLog(x.id, 'info', `answer: ${JSON.stringify(b.answer)}`);
        setStatus(x, 'ENDED_SUCCESS', null);
        return send(res, 200, x);
      }
      if (parts[2] === 'logs') {
        const after = Number(url.searchParams.get('after') || req.headers['last-event-id'] || 0);
        const list = (logs.get(x.id) || []).filter((l) => l.seq > after);
        if (process.env.MOCK_NO_SSE || !(req.headers.accept || '').includes('text/event-stream')) return send(res, 200, { items: list, status: x.status });
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
        const write = (event, data) => {
          res.write(`event: ${event}\n${event === 'log' ? `id: ${data.seq}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
          if (event === 'end') {
            subs.get(x.id)?.delete(write);
            res.end();
          }
        };
        for (const l of list) write('log', l);
        write('status', x);
        if (x.status.startsWith('ENDED_')) return write('end', x);
        if (!subs.has(x.id)) subs.set(x.id, new Set());
        subs.get(x.id).add(write);
        const ka = setInterval(() => res.write(': keep-alive\n\n'), 15000);
        req.on('close', () => {
          clearInterval(ka);
          subs.get(x.id)?.delete(write);
        });
        return;
      }
    }

    // API clients
    if (parts[0] === 'clients') {
      if (parts.length === 1 && m === 'GET') return send(res, 200, { items: [...clients.values()].map(({ secret, ...c }) => c) });
      if (parts.length === 1 && m === 'POST') {
        const b = await readJSON(req);
        if (!['admin', 'editor', 'runner', 'viewer'].includes(b.role)) return err(res, 400, 'bad_request', 'role must be admin, editor, runner or viewer');
        const c = { id: `c_${crypto.randomBytes(6).toString('hex')}`, name: b.name, role: b.role, created_at: now(), secret: crypto.randomBytes(18).toString('base64url') };
        clients.set(c.id, c);
        return send(res, 201, { id: c.id, secret: c.secret, role: c.role });
      }
      if (m === 'DELETE' && clients.has(parts[1])) { clients.delete(parts[1]); res.writeHead(204); return res.end(); }
      return err(res, 404, 'not_found', 'client not found');
    }

    // Named records
    if (kinds.includes(parts[0])) {
      if (parts[0] === 'schedules') return err(res, 404, 'not_found', 'schedules are not implemented in the mock');
      const st = store[parts[0]];
      if (parts.length === 1 && m === 'GET') return send(res, 200, { items: [...st.values()].map((r) => (parts[0] === 'secrets' ? { name: r.name, created_at: r.created_at, updated_at: r.updated_at } : r)) });
      const name = parts[1];
      if (parts.length === 2 && m === 'PUT') {
        const b = await readJSON(req);
        const old = st.get(name);
        const r = { ...b, name, created_at: old?.created_at || now(), updated_at: now() };
        if (parts[0] === 'connectors') r.state = { code: '001', reason: 'Requires configuration', healthy: false };
        st.set(name, r);
        return send(res, old ? 200 : 201, parts[0] === 'secrets' ? { name, created_at: r.created_at, updated_at: r.updated_at } : r);
      }
      const r = st.get(name);
      if (!r) return err(res, 404, 'not_found', `${parts[0].slice(0, -1)} ${name} not found`);
      if (parts.length === 2 && m === 'GET') return send(res, 200, parts[0] === 'secrets' ? { name, created_at: r.created_at, updated_at: r.updated_at } : r);
      if (parts.length === 2 && m === 'DELETE') { st.delete(name); res.writeHead(204); return res.end(); }
      if (parts[0] === 'connectors' && parts[2] === 'test' && m === 'POST') {
        r.state = { code: '000', reason: 'OK', healthy: true };
        return send(res, 200, { ok: true, state: r.state });
      }
    }
    return err(res, 404, 'not_found', `no route ${m} ${p}`);
  } catch (e) {
    return err(res, 500, 'internal', String(e));
  }
});

const port = Number(process.argv[2] || process.env.PORT || 0);
server.listen(port, '127.0.0.1', () => {
  console.log(`mock flowd on http://127.0.0.1:${server.address().port} (client ${CLIENT_ID} / ${CLIENT_SECRET})`);
});
