// The flowd HTTP API client: token handling, JSON requests with the API's
// error shape, and the log stream (SSE read with fetch so that the
// Authorization header can be sent).

export const API = '/api/v1';

export class ApiError extends Error {
  status: number;
  code: string;
  line?: number;
  column?: number;
  body: unknown;
  constructor(status: number, code: string, message: string, body?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
    const e = (body as any)?.error;
    if (e && typeof e.line === 'number') this.line = e.line;
    if (e && typeof e.column === 'number') this.column = e.column;
  }
}

function roleHint(err: ApiError): string {
  if (/csrf/i.test(err.message)) return ' — reload the page to get a fresh CSRF token.';
  const s = session;
  if (!s) return '';
  const who = s.kind === 'user' ? `your role (${s.role || 'unknown'})` : `your API client's role (${s.role || 'unknown'})`;
  return ` — ${who} does not allow this; ask an admin for a higher role.`;
}

/** Human-readable text for any error, with the HTTP status when there is one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    let hint = '';
    if (err.status === 401) hint = ' — your session is not valid any more; sign in again.';
    if (err.status === 403) hint = roleHint(err);
    if (err.status === 404 && err.code === 'http_404') hint = ' — this route is not available on this server.';
    const where = err.line ? ` (line ${err.line}${err.column ? `, column ${err.column}` : ''})` : '';
    return `${err.message}${where} [${err.status} ${err.code}]${hint}`;
  }
  if (err instanceof Error) return err.message || String(err);
  return String(err);
}

// ---------------------------------------------------------------------------
// Session. Two kinds:
// - a user (username and password, or single sign-on): the server keeps the session
//   behind an HttpOnly cookie that fetch sends by itself (same origin), so it holds
//   across tabs and reloads; only the CSRF token is kept here (in memory, fetched
//   again from GET /auth/me after a reload) and sent as X-CSRF-Token on every
//   request that is not a GET.
// - an API client (client id and secret): the bearer token lives in sessionStorage
//   (tab-scoped). The secret is kept only in memory, to renew the token before it
//   expires; after a page reload the stored token is used until it expires.

const KEY = 'flowd.session';

/** Roles from least to most allowed; each includes the ones before it. */
export const ROLES = ['viewer', 'runner', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Session {
  kind: 'user' | 'client';
  /** Username or client id. */
  name: string;
  /** Unknown ('') when the server did not say. */
  role: string;
  /** Client sessions: the bearer token and its expiry (epoch ms). */
  token?: string;
  expiresAt?: number;
  /** User sessions: the CSRF token of the cookie's session. */
  csrf?: string;
}

let session: Session | null = loadSession();
let secret: string | null = null;
let renewTimer: number | undefined;
let renewing: Promise<void> | null = null;
const listeners = new Set<() => void>();
let notice = '';

function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as { token?: string; expiresAt?: number; clientId?: string; role?: string };
    if (!s.token || !s.expiresAt || s.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return { kind: 'client', name: s.clientId ?? '', role: s.role ?? '', token: s.token, expiresAt: s.expiresAt };
  } catch {
    return null;
  }
}

function storeClient(s: Session) {
  sessionStorage.setItem(KEY, JSON.stringify({ token: s.token, expiresAt: s.expiresAt, clientId: s.name, role: s.role }));
}

export function currentSession(): Session | null {
  return session;
}

/** True when the signed-in role includes `min` (or the server did not say which role it is). */
export function hasRole(min: Role, s: Session | null = session): boolean {
  if (!s) return false;
  const have = ROLES.indexOf(s.role as Role);
  return have < 0 || have >= ROLES.indexOf(min);
}

/** "Your role (viewer) does not allow this: it needs editor." for a button a role cannot use. */
export function roleRefusal(min: Role, what: string): string {
  const r = session?.role || 'unknown';
  return `Your role (${r}) cannot ${what}: it needs the ${min} role or higher. Ask an admin to change your role.`;
}

/** A message for the sign-in page (why the user was signed out). */
export function takeNotice(): string {
  const n = notice;
  notice = '';
  return n;
}

export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function emit() {
  listeners.forEach((fn) => fn());
}

/** Forgets the session in this tab (the server's cookie session stays: see logout). */
export function signOut(why = '') {
  session = null;
  secret = null;
  notice = why;
  clearTimeout(renewTimer);
  sessionStorage.removeItem(KEY);
  emit();
}

/** Ends the session: a user's on the server too (POST /auth/logout), then signs out here. */
export async function logout(): Promise<void> {
  if (session?.kind === 'user') {
    await api('/auth/logout', { method: 'POST' }).catch((e) => {
      // Already ended elsewhere (401): signing out here is all that is left.
      if (!(e instanceof ApiError && e.status === 401)) throw e;
    });
  }
  signOut('');
}

interface Me {
  kind?: 'user' | 'client';
  name?: string;
  role?: string;
  csrf_token?: string;
}

async function fetchMe(headers: Record<string, string> = {}): Promise<Me | null> {
  let res: Response;
  try {
    res = await fetch(`${API}/auth/me`, { headers: { Accept: 'application/json', ...headers }, cache: 'no-store' });
  } catch (e) {
    throw new Error(`Cannot reach the server: ${(e as Error).message}`);
  }
  if (res.status === 401) return null;
  const body = await readBody(res);
  if (!res.ok) throw toApiError(res, body);
  return body as Me;
}

/**
 * After a (re)load: finds the cookie session of a signed-in user (GET /auth/me) when
 * the tab holds no API client token. Resolves either way; the sign-in page shows
 * when there is no session.
 */
export async function restoreSession(): Promise<void> {
  if (session) {
    if (session.kind === 'client' && !session.role) learnClientRole();
    return;
  }
  try {
    const me = await fetchMe();
    if (me && me.kind === 'user' && me.name) {
      session = { kind: 'user', name: me.name, role: me.role ?? '', csrf: me.csrf_token ?? '' };
      emit();
    }
  } catch (e) {
    notice = errorText(e);
    emit();
  }
}

/** Signs in with a username and password (POST /auth/login; the server sets the cookie). */
export async function signInUser(username: string, password: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${API}/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  } catch (e) {
    throw new Error(`Cannot reach the server: ${(e as Error).message}`);
  }
  const body = await readBody(res);
  if (!res.ok) {
    const e = toApiError(res, body);
    if (res.status === 429) {
      const after = res.headers.get('Retry-After');
      throw new Error(`Sign-in refused: ${e.message} [${e.status} ${e.code}]${after ? ` Try again in ${after} s.` : ''}`);
    }
    if (res.status === 400 || res.status === 401 || res.status === 403)
      throw new Error(`Sign-in refused: ${e.message} [${e.status} ${e.code}]. Check the username and password.`);
    throw e;
  }
  const b = body as { username?: string; role?: string; csrf_token?: string };
  if (!b || !b.csrf_token) throw new Error('The server answered the sign-in without a CSRF token.');
  session = { kind: 'user', name: b.username ?? username, role: b.role ?? '', csrf: b.csrf_token };
  sessionStorage.removeItem(KEY);
  emit();
}

/** The sign-in methods the server offers (GET /auth/methods); password only when it does not say. */
export interface Methods {
  password: boolean;
  oidc: { name: string; login_url: string } | null;
}

export async function signInMethods(): Promise<Methods> {
  const res = await fetch(`${API}/auth/methods`, { headers: { Accept: 'application/json' } });
  const body = await readBody(res);
  if (!res.ok) throw toApiError(res, body);
  const b = body as Partial<Methods>;
  return { password: b?.password !== false, oidc: b?.oidc && b.oidc.login_url ? b.oidc : null };
}

async function requestToken(clientId: string, clientSecret: string): Promise<Session> {
  let res: Response;
  try {
    res = await fetch(`${API}/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }),
    });
  } catch (e) {
    throw new Error(`Cannot reach the server: ${(e as Error).message}`);
  }
  const body = await readBody(res);
  if (!res.ok) {
    const e = toApiError(res, body);
    if (res.status === 400 || res.status === 401 || res.status === 403)
      throw new Error(`Sign-in refused: ${e.message} [${e.status} ${e.code}]. Check the client ID and secret.`);
    throw e;
  }
  const b = body as { access_token?: string; expires_in?: number };
  if (!b || !b.access_token) throw new Error('The server answered without an access token.');
  const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : 3600;
  return { kind: 'client', name: clientId, role: session?.kind === 'client' ? session.role : '', token: b.access_token, expiresAt: Date.now() + expiresIn * 1000 };
}

function scheduleRenewal() {
  clearTimeout(renewTimer);
  if (!session || session.kind !== 'client' || !secret || !session.expiresAt) return;
  const left = session.expiresAt - Date.now();
  // Renew at 80% of the lifetime, at least 5 s ahead of expiry.
  const at = Math.max(1000, Math.min(left * 0.8, left - 5000));
  renewTimer = window.setTimeout(() => {
    renew().catch((e) => signOut(`Could not renew the session: ${errorText(e)}`));
  }, at);
}

function renew(): Promise<void> {
  if (!session || session.kind !== 'client' || !secret) return Promise.reject(new Error('Session expired; sign in again.'));
  if (!renewing) {
    const id = session.name;
    const sec = secret;
    renewing = requestToken(id, sec)
      .then((s) => {
        session = s;
        storeClient(s);
        scheduleRenewal();
      })
      .finally(() => {
        renewing = null;
      });
  }
  return renewing;
}

/** Asks the server which role the signed-in API client has (best effort: unknown shows everything). */
function learnClientRole() {
  const s = session;
  if (!s || s.kind !== 'client' || !s.token) return;
  fetchMe({ Authorization: `Bearer ${s.token}` })
    .then((me) => {
      if (!me || !session || session.token !== s.token || !me.role) return;
      const next: Session = { ...session, role: me.role };
      session = next;
      storeClient(next);
      emit();
    })
    .catch(() => undefined);
}

/** Signs in as an API client (OAuth2 client credentials; the token stays in this tab). */
export async function signIn(clientId: string, clientSecret: string): Promise<void> {
  const s = await requestToken(clientId, clientSecret);
  session = s;
  secret = clientSecret;
  storeClient(s);
  scheduleRenewal();
  emit();
  learnClientRole();
}

/** The headers that authenticate a request: the bearer token, or the CSRF token for a user's cookie session. */
async function authHeaders(method = 'GET'): Promise<Record<string, string>> {
  if (session?.kind === 'user') {
    const m = method.toUpperCase();
    return m === 'GET' || m === 'HEAD' || m === 'OPTIONS' ? {} : { 'X-CSRF-Token': session.csrf ?? '' };
  }
  if (session && session.expiresAt && session.expiresAt - Date.now() < 10_000 && secret) await renew();
  if (!session || !session.token || !session.expiresAt || session.expiresAt <= Date.now()) {
    signOut('Your session has expired; sign in again.');
    throw new ApiError(401, 'session_expired', 'Your session has expired');
  }
  return { Authorization: `Bearer ${session.token}` };
}

// ---------------------------------------------------------------------------

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toApiError(res: Response, body: unknown): ApiError {
  const e = (body as any)?.error;
  if (e && typeof e === 'object') {
    return new ApiError(res.status, String(e.code ?? `http_${res.status}`), String(e.message ?? res.statusText), body);
  }
  const msg = typeof body === 'string' && body.trim() && body.length < 300 ? body.trim() : res.statusText || 'Request failed';
  return new ApiError(res.status, `http_${res.status}`, msg, body);
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: RequestOptions['query']): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path;
}

/** Calls the API; resolves with the parsed JSON body, rejects with ApiError. */
export async function api<T = any>(path: string, opts: RequestOptions = {}): Promise<T> {
  const url = withQuery(API + path, opts.query);
  const doFetch = async () => {
    const headers: Record<string, string> = { Accept: 'application/json', ...(await authHeaders(opts.method)) };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetch(url, {
        method: opts.method ?? 'GET',
        headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        signal: opts.signal,
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      throw new Error(`Cannot reach the server: ${(e as Error).message}`);
    }
  };
  let res = await doFetch();
  if (res.status === 401 && secret && session?.kind === 'client') {
    // The token may have been rejected early (e.g. server restart with new keys): renew once.
    await renew().catch(() => undefined);
    res = await doFetch();
  }
  const body = await readBody(res);
  if (!res.ok) {
    const err = toApiError(res, body);
    if (res.status === 401) signOut(`Signed out: ${errorText(err)}`);
    throw err;
  }
  return body as T;
}

/** Normalises list answers: `{items: [...]}` or a bare array. */
export function items<T = any>(body: any): T[] {
  if (Array.isArray(body)) return body;
  if (body && Array.isArray(body.items)) return body.items;
  return [];
}

// ---------------------------------------------------------------------------
// Types

export type Status = 'PENDING' | 'RUNNING' | 'WAITING' | 'ENDED_SUCCESS' | 'ENDED_ERROR' | 'ENDED_CANCELLED';

export interface Execution {
  id: string;
  type: 'FLOW' | 'CONNECTION';
  name: string;
  status: Status;
  status_message?: string | null;
  parent_id?: string | null;
  root_id?: string | null;
  flow_revision?: number | null;
  inputs?: any;
  outputs?: any;
  created_at?: string | null;
  started_at?: string | null;
  ended_at?: string | null;
  trigger?: string | null;
  /** Who started it: "user:alice", "client:admin", "webhook:orders", "schedule:nightly"; null for child executions and older rows. */
  started_by?: string | null;
  /** The execution this one re-runs (POST /executions/{id}/rerun). */
  rerun_of?: string | null;
  /** The execution whose recorded responses this one replays (POST /executions/{id}/replay). */
  replay_of?: string | null;
  /** The pending this.message while WAITING: {id, subject, body, fields, timeout}. */
  message?: { id?: number; subject?: string; body?: unknown; fields?: unknown; timeout?: number } | null;
}

export interface LogLine {
  seq: number;
  ts: string;
  level: string;
  message: string;
}

export function isEnded(s: string | undefined): boolean {
  return !!s && s.startsWith('ENDED_');
}

/** One try of a REST call, as a CONNECTION execution's outputs.log lists them (live while it runs). */
export interface TryEntry {
  try?: number;
  method?: string;
  url?: string;
  duration_ms?: number;
  status_code?: number;
  error?: string;
  retry_in_seconds?: number;
  message?: string;
}

/** The tries a CONNECTION execution recorded so far. */
export function triesOf(exe: Execution): TryEntry[] {
  const log = exe.outputs?.log;
  return Array.isArray(log) ? log.filter((e: unknown) => e && typeof e === 'object' && typeof (e as TryEntry).try === 'number') : [];
}

/** The reason at the end of a Go network error: `dial tcp 127.0.0.1:1: connect: connection refused` -> `connection refused`. */
function shortError(err: string): string {
  const parts = err.split(': ').map((p) => p.trim()).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : err;
}

function fmtSeconds(s: number): string {
  return `${Number.isInteger(s) ? s : s.toFixed(s < 10 ? 1 : 0)} s`;
}

/** "try 3 failed: connection refused; next in 4 s" for the last try of a connection; "" without tries. */
export function tryText(exe: Execution): string {
  const tries = triesOf(exe);
  const t = tries[tries.length - 1];
  if (!t) return '';
  let s = t.error ? `try ${t.try} failed: ${shortError(t.error)}` : `try ${t.try} answered ${t.status_code ?? '?'}`;
  if (typeof t.retry_in_seconds === 'number' && !isEnded(exe.status)) s += `; next in ${fmtSeconds(t.retry_in_seconds)}`;
  return s;
}

/**
 * The line and column of a runtime error in this flow's script, from the stack in
 * its status message (`at handler (<flow>.js:3:17)`, or ` at <flow>.js:3:17`): the
 * innermost frame of the flow's own file. Null when the message names no position.
 */
export function errorPosition(message: string | null | undefined, flow: string): { line: number; column: number } | null {
  if (!message) return null;
  const file = `${flow}.js:`;
  let at = message.indexOf(file);
  while (at >= 0) {
    const before = at === 0 ? ' ' : message[at - 1];
    const m = /^(\d+):(\d+)/.exec(message.slice(at + file.length));
    // The file name must start there (not "other_flow.js" ending in the name).
    if (m && /[\s(]/.test(before)) return { line: Number(m[1]), column: Number(m[2]) };
    at = message.indexOf(file, at + 1);
  }
  return null;
}

// ---------------------------------------------------------------------------
// Log stream

export interface StreamHandlers {
  onLog(line: LogLine): void;
  onStatus?(exe: Execution): void;
  onEnd?(exe: Execution | null): void;
  onError?(err: unknown): void;
}

/**
 * Streams an execution's log with fetch + ReadableStream (EventSource cannot
 * send the Authorization header). Reconnects with ?after=<last seq> when the
 * connection drops before the `end` event. Returns a function that stops it.
 */
export function streamLogs(id: string, h: StreamHandlers, after = 0): () => void {
  const ctrl = new AbortController();
  let lastSeq = after;
  let ended = false;
  let failures = 0;
  let lastStatus = '';

  const run = async () => {
    while (!ended && !ctrl.signal.aborted) {
      try {
        const headers: Record<string, string> = { Accept: 'text/event-stream', ...(await authHeaders()) };
        if (lastSeq) headers['Last-Event-ID'] = String(lastSeq);
        const url = withQuery(`${API}/executions/${encodeURIComponent(id)}/logs`, { after: lastSeq || undefined });
        const res = await fetch(url, { headers, signal: ctrl.signal, cache: 'no-store' });
        if (!res.ok) {
          const body = await readBody(res);
          throw toApiError(res, body);
        }
        const ctype = res.headers.get('content-type') || '';
        if (!ctype.includes('text/event-stream')) {
          // Server answered with the JSON page instead of a stream.
          const body: any = await readBody(res);
          for (const l of items<LogLine>(body)) {
            if (typeof l.seq === 'number' && l.seq <= lastSeq) continue;
            if (l.seq > lastSeq) lastSeq = l.seq;
            h.onLog(l);
          }
          const st = body?.status as string | undefined;
          if (st && st !== lastStatus) {
            lastStatus = st;
            const exe = await api<Execution>(`/executions/${encodeURIComponent(id)}`, { signal: ctrl.signal }).catch(() => null);
            if (exe) h.onStatus?.(exe);
            if (isEnded(st)) {
              ended = true;
              h.onEnd?.(exe);
              return;
            }
          }
          await sleep(1000, ctrl.signal);
          continue;
        }
        failures = 0;
        await readEvents(res, ctrl.signal, (ev) => {
          if (ev.event === 'log') {
            const line = safeJSON(ev.data) as LogLine | null;
            if (!line) return;
            if (typeof line.seq === 'number') {
              if (line.seq <= lastSeq) return; // duplicate after reconnect
              lastSeq = line.seq;
            } else if (ev.id) {
              lastSeq = Number(ev.id) || lastSeq;
            }
            h.onLog(line);
          } else if (ev.event === 'status') {
            const exe = safeJSON(ev.data) as Execution | null;
            if (exe) h.onStatus?.(exe);
          } else if (ev.event === 'end') {
            ended = true;
            h.onEnd?.(safeJSON(ev.data) as Execution | null);
          } else if (ev.event === 'error') {
            const e = safeJSON(ev.data) as any;
            h.onError?.(new Error(e?.error?.message ?? e?.message ?? ev.data));
          }
        });
        if (!ended) await sleep(500, ctrl.signal);
      } catch (e) {
        if (ctrl.signal.aborted) return;
        failures++;
        if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
          h.onError?.(e);
          return;
        }
        if (failures >= 3) h.onError?.(new Error(`Log stream interrupted (${errorText(e)}); retrying…`));
        await sleep(Math.min(10_000, 500 * 2 ** failures), ctrl.signal).catch(() => undefined);
      }
    }
  };
  run();
  return () => ctrl.abort();
}

interface SSEEvent {
  event: string;
  id: string;
  data: string;
}

async function readEvents(res: Response, signal: AbortSignal, on: (e: SSEEvent) => void) {
  if (!res.body) return;
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let ev: SSEEvent = { event: 'message', id: '', data: '' };
  let hasData = false;
  const abort = () => reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', abort);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let nl: number;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (hasData) on(ev);
          ev = { event: 'message', id: '', data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? '' : line.slice(i + 1);
        if (val.startsWith(' ')) val = val.slice(1);
        if (field === 'event') ev.event = val;
        else if (field === 'id') ev.id = val;
        else if (field === 'data') {
          ev.data = hasData ? `${ev.data}\n${val}` : val;
          hasData = true;
        }
      }
    }
    if (hasData) on(ev);
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

function safeJSON(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new DOMException('aborted', 'AbortError'));
    });
  });
}

// Keep the renewal timer going after a reload only if we know the secret
// (we do not), so nothing to schedule here; api calls sign out on expiry.

/** Reads an execution's whole log as JSON pages (`?after=<seq>`). */
export async function fetchLogs(id: string, signal?: AbortSignal): Promise<LogLine[]> {
  const all: LogLine[] = [];
  let after = 0;
  for (let page = 0; page < 200; page++) {
    const body: any = await api(`/executions/${encodeURIComponent(id)}/logs`, { query: { after: after || undefined }, signal });
    const list = items<LogLine>(body).filter((l) => typeof l.seq !== 'number' || l.seq > after);
    if (!list.length) break;
    all.push(...list);
    const last = list[list.length - 1].seq;
    if (typeof last !== 'number' || last <= after) break;
    after = last;
    if (body && (body.next_cursor === null || body.has_more === false)) break;
  }
  return all;
}
