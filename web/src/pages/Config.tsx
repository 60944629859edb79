import { useEffect, useState } from 'preact/hooks';
import { api, items } from '../api';
import { fmtTime, pretty } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Notice, useAsync } from '../ui';

const enc = encodeURIComponent;

/** What a connector's state code means, in words. */
export const stateWords: Record<string, string> = {
  '000': 'Healthy: its last test, since it was saved, passed.',
  '001': 'Requires configuration: a secret or grant it references does not exist yet.',
  '002': 'Not tested: complete, but not tested since it was last saved.',
  '003': 'Test failed: the last test did not get a good answer.',
};

export interface Kind {
  kind: string;
  title: string;
  singular: string;
  help: string;
  template: unknown;
  writeOnly?: boolean; // secrets
  fields?: FieldSpec[];
  /** Keys the server adds to a record that are not part of the PUT body (connectors
   * decode their body strictly, so sending them back is refused). */
  readOnly?: string[];
  /** Turns a fetched record into the JSON body of PUT, when dropping readOnly is not enough. */
  toBody?: (rec: Record<string, any>) => Record<string, unknown>;
}

interface FieldSpec {
  key: string;
  label: string;
  type: 'text' | 'bool' | 'flow' | 'list' | 'select';
  options?: string[];
  hint?: string;
}

export const configKinds: Kind[] = [
  {
    kind: 'connectors',
    title: 'Connectors',
    singular: 'connector',
    help: 'Saved connectors store default inputs for a connector type; scripts use them with this.connect(name, overrides). Any input value may be {"secret": "NAME"}. Calls to hosts outside "domains" are refused.',
    fields: [
      { key: 'connector_type', label: 'Connector type', type: 'select', options: ['REST'] },
      { key: 'domains', label: 'Allowed domains (comma-separated)', type: 'list' },
      { key: 'description', label: 'Description', type: 'text' },
    ],
    readOnly: ['state', 'last_test'],
    template: { connector_type: 'REST', inputs: { url: 'https://api.example.com/', authentication_method: 'bearer', token: { secret: 'API_TOKEN' } }, domains: ['api.example.com'], description: '' },
  },
  {
    kind: 'secrets',
    title: 'Secrets',
    singular: 'secret',
    help: 'Secrets are write-only: their values are encrypted at rest and never shown again. Reference them as {"secret": "NAME"} in connectors and grants; in flow code, write system.secret(\'NAME\') (or system.secret(\'NAME\').template(\'Bearer {{secret}}\') inside a text).',
    template: null,
    writeOnly: true,
  },
  {
    kind: 'grants',
    title: 'Grants',
    singular: 'grant',
    help: 'OAuth2 grants for the REST connector\'s "grant" input: client credentials, or a JWT client assertion (type "jwt_assertion", private_key, kid, alg ES256|RS256). Name one in flow code with grant: system.grant(\'NAME\'), or as "grant": "NAME" in a saved connector\'s inputs; a grant named by a text in a call is refused.',
    fields: [
      { key: 'type', label: 'Type', type: 'select', options: ['client_credentials', 'jwt_assertion'] },
      { key: 'token_url', label: 'Token URL', type: 'text' },
      { key: 'client_id', label: 'Client ID', type: 'text' },
      { key: 'scope', label: 'Scope', type: 'text' },
      { key: 'audience', label: 'Audience', type: 'text' },
    ],
    template: { type: 'client_credentials', token_url: 'https://auth.example.com/oauth/token', client_id: '', client_secret: { secret: 'CLIENT_SECRET' }, scope: '', audience: '', params: {}, auth_style: 'header' },
  },
  {
    kind: 'webhooks',
    title: 'Webhooks',
    singular: 'webhook',
    help: 'A webhook runs a flow when its URL is called (any method) with ?key= or the X-Flowd-Key header. Add ?async=1 to get 202 with the execution id at once.',
    fields: [
      { key: 'flow', label: 'Flow', type: 'flow' },
      { key: 'enabled', label: 'Enabled', type: 'bool' },
    ],
    readOnly: ['url', 'key'],
    // Without "key" the server generates a strong one and shows it once; an existing
    // webhook keeps its key. Add "key" (16+ characters) to choose or replace it.
    template: { flow: '', enabled: true },
  },
  {
    kind: 'schedules',
    title: 'Schedules',
    singular: 'schedule',
    help: 'Schedules run a flow on a cron expression (e.g. "*/15 * * * *"), in a time zone (e.g. "Europe/Vienna").',
    fields: [
      { key: 'flow', label: 'Flow', type: 'flow' },
      { key: 'cron', label: 'Cron expression', type: 'text', hint: 'minute hour day-of-month month day-of-week' },
      { key: 'timezone', label: 'Time zone', type: 'text' },
      { key: 'overlap', label: 'When the previous run is still going', type: 'select', options: ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] },
      { key: 'enabled', label: 'Enabled', type: 'bool' },
    ],
    readOnly: ['paused', 'next_runs', 'recent_runs', 'running', 'actions', 'skipped_overlap', 'warning'],
    template: { flow: '', cron: '0 * * * *', inputs: {}, enabled: true, timezone: 'UTC', overlap: 'skip' },
  },
  {
    kind: 'settings',
    title: 'Settings',
    singular: 'setting',
    help: 'Named JSON values shared between executions (system.setting(name) in scripts).',
    template: { value: {} },
  },
  {
    kind: 'files',
    title: 'Files',
    singular: 'file',
    help: 'Stored files (system.file(name) in scripts): {"text": "..."} for text, {"base64": "..."} for binary content.',
    readOnly: ['size'],
    toBody: (r) => (typeof r.text === 'string' ? { text: r.text } : { base64: r.base64 ?? '' }),
    template: { text: '' },
  },
];

const META = ['name', 'state', 'created_at', 'updated_at', 'id', 'revision'];

function bodyOf(kind: Kind, rec: Record<string, any>): Record<string, unknown> {
  if (kind.toBody) return kind.toBody(rec ?? {});
  const b: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec ?? {})) if (!META.includes(k) && !kind.readOnly?.includes(k)) b[k] = v;
  return b;
}

/** Drops what the server would refuse or misread in a body typed by hand. */
function cleanBody(kind: Kind, body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const b = { ...(body as Record<string, unknown>) };
  for (const k of [...META, ...(kind.readOnly ?? [])]) if (k !== 'key' || kind.kind !== 'webhooks') delete b[k];
  // An empty webhook key would be refused as too short; leaving it out keeps (or generates) one.
  if (kind.kind === 'webhooks' && (b.key === '' || b.key === null)) delete b.key;
  return b;
}

export function ConfigPage({ kind, selected }: { kind: Kind; selected?: string }) {
  const { data, error, loading, reload } = useAsync(() => api(`/${kind.kind}`).then((b) => items<Record<string, any>>(b)), [kind.kind]);
  const [q, setQ] = useState('');
  const list = (data ?? []).filter((r) => !q || String(r.name).toLowerCase().includes(q.toLowerCase()));
  return (
    <section aria-labelledby="cfg-title">
      <div class="page-head">
        <h1 id="cfg-title">{kind.title}</h1>
        <div class="spacer" />
        <a class="button" href={href([kind.kind, '+new'])}>
          New {kind.singular}
        </a>
      </div>
      <p class="muted">{kind.help}</p>
      <ErrorBox error={error} />
      <div class="cfg-grid">
        <div>
          <label class="search">
            Search
            <input type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
          </label>
          {loading && !data && <p class="muted">Loading…</p>}
          <ul class="cfg-list" aria-label={kind.title}>
            {list.map((r) => (
              <li>
                <a href={href([kind.kind, r.name])} aria-current={selected === r.name ? 'page' : undefined}>
                  {r.name}
                  {kind.kind === 'connectors' && r.state && (
                    <span class={`badge ${r.state.healthy ? 'ok' : 'bad'}`} title={stateWords[r.state.code] ?? `state ${r.state.code}`}>
                      {r.state.reason?.split(';')[0] || (r.state.healthy ? 'Healthy' : 'Not healthy')}
                    </span>
                  )}
                  {(kind.kind === 'webhooks' || kind.kind === 'schedules') && r.enabled === false && <span class="badge muted">disabled</span>}
                  <span class="muted small block">{fmtTime(r.updated_at ?? r.created_at)}</span>
                </a>
              </li>
            ))}
            {data && list.length === 0 && <li class="muted">None yet.</li>}
          </ul>
        </div>
        <div>{selected ? <Editor key={`${kind.kind}/${selected}`} kind={kind} name={selected === '+new' ? '' : selected} onChanged={reload} /> : <p class="muted">Select one on the left or create a new {kind.singular}.</p>}</div>
      </div>
    </section>
  );
}

// What a save wants to show on the record's page after navigating to it: a message,
// and a webhook's generated key (shown this once).
let flash: { msg: string; key?: string } | null = null;

function Editor({ kind, name, onChanged }: { kind: Kind; name: string; onChanged: () => void }) {
  const isNew = !name;
  const [newName, setNewName] = useState('');
  const [text, setText] = useState(isNew ? pretty(kind.template) : '');
  const [secretValue, setSecretValue] = useState('');
  const [rec, setRec] = useState<Record<string, any> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [first] = useState(() => {
    const f = flash;
    flash = null;
    return f;
  });
  const [msg, setMsg] = useState(first?.msg ?? '');
  const [shownKey, setShownKey] = useState(first?.key ?? '');
  const [test, setTest] = useState<{ ok: boolean; message: string; status_code?: number; at?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    if (isNew) return;
    try {
      const r = await api<Record<string, any>>(`/${kind.kind}/${enc(name)}`);
      setRec(r);
      if (!kind.writeOnly) setText(pretty(bodyOf(kind, r)));
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setMsg('');
    const target = isNew ? newName.trim() : name;
    if (!target) {
      setError(new Error('Enter a name.'));
      return;
    }
    let body: unknown;
    if (kind.writeOnly) {
      if (!secretValue) {
        setError(new Error('Enter the secret value.'));
        return;
      }
      body = { value: secretValue };
    } else {
      try {
        body = cleanBody(kind, JSON.parse(text));
      } catch (err) {
        setError(new Error(`The definition is not valid JSON: ${(err as Error).message}`));
        return;
      }
    }
    setBusy(true);
    try {
      const saved = await api<Record<string, any>>(`/${kind.kind}/${enc(target)}`, { method: 'PUT', body });
      setSecretValue('');
      const done = `Saved ${kind.singular} “${target}”.`;
      const key = typeof saved?.key === 'string' ? saved.key : '';
      onChanged();
      if (isNew) {
        flash = { msg: done, key };
        navigate(href([kind.kind, target]));
      } else {
        setMsg(done);
        if (key) setShownKey(key);
        setTest(null);
        load();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const del = async () => {
    if (!confirm(`Delete ${kind.singular} “${name}”?`)) return;
    setError(null);
    try {
      await api(`/${kind.kind}/${enc(name)}`, { method: 'DELETE' });
      onChanged();
      navigate(href([kind.kind]));
    } catch (err) {
      setError(err);
    }
  };

  const runTest = async () => {
    setError(null);
    setTest(null);
    setBusy(true);
    try {
      // 200 whether the call worked or not: {connector (with its new state), test}.
      const r = await api<{ connector?: Record<string, any>; test?: any }>(`/connectors/${enc(name)}/test`, { method: 'POST' });
      if (r?.connector) setRec(r.connector);
      setTest(r?.test ?? { ok: false, message: 'The server answered without a test result.' });
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const callPath = rec?.url ?? `/api/v1/webhooks/${enc(isNew ? newName || '{name}' : name)}/call`;
  const callUrl = `${location.origin}${callPath}`;
  const state = rec?.state as { code?: string; reason?: string; healthy?: boolean; missing?: string[] } | undefined;
  return (
    <form class="cfg-editor" onSubmit={save} aria-label={isNew ? `New ${kind.singular}` : `${kind.singular} ${name}`}>
      <h2>{isNew ? `New ${kind.singular}` : name}</h2>
      {isNew && (
        <label>
          Name
          <input value={newName} onInput={(e) => setNewName(e.currentTarget.value)} required autoFocus pattern="[A-Za-z0-9_.\-]+" title="Letters, digits, _ . -" />
        </label>
      )}
      {kind.kind === 'connectors' && state && (
        <div class="state" data-testid="connector-state">
          State: <span class={`badge ${state.healthy ? 'ok' : 'bad'}`}>{state.reason?.split(';')[0] || (state.healthy ? 'Healthy' : 'Not healthy')}</span> <span class="mono muted" title={state.code ? `State code ${state.code}` : undefined}>
            {state.code}
          </span>
          {state.code && stateWords[state.code] && (
            <span class="muted small state-words" data-testid="state-words">
              Code {state.code} means {stateWords[state.code].replace(/^./, (c) => c.toLowerCase())}
            </span>
          )}
          {state.missing && state.missing.length > 0 && <span> — create {state.missing.join(', ')} first</span>}
          {state.code === '002' && <span> — press Test to check it (saving a change needs a new test)</span>}
          {rec?.last_test && (
            <span class="muted small block">
              Last test {fmtTime(rec.last_test.at)}: {rec.last_test.message}
            </span>
          )}
        </div>
      )}
      {kind.kind === 'webhooks' && !isNew && (
        <p>
          Call URL: <code class="select-all" data-testid="webhook-url">{callUrl}</code> (any method) with <code>?key=…</code> or the header <code>X-Flowd-Key</code>; add <code>async=1</code> to get 202 with the execution id at once.
        </p>
      )}
      {shownKey && (
        <Notice kind="warn">
          <strong>Copy the key now: it is shown only once.</strong> Key: <code class="select-all" data-testid="webhook-key">{shownKey}</code>
          <br />
          <code class="select-all small">curl -X POST '{callUrl}' -H 'X-Flowd-Key: {shownKey}' -H 'Content-Type: application/json' -d '{'{}'}'</code>
        </Notice>
      )}
      {kind.kind === 'schedules' && rec && <ScheduleInfo rec={rec} />}
      {kind.kind === 'files' && rec && (
        <p class="muted small">
          {rec.size} bytes • updated {fmtTime(rec.updated_at)}
          {typeof rec.text !== 'string' && ' • not UTF-8 text: shown as base64'}
        </p>
      )}
      {kind.writeOnly ? (
        <>
          {!isNew && rec && (
            <p class="muted small">
              Created {fmtTime(rec.created_at)} • updated {fmtTime(rec.updated_at)}. The value is never shown.
            </p>
          )}
          <label>
            {isNew ? 'Value' : 'New value (replaces the stored one)'}
            <input type="password" autocomplete="new-password" value={secretValue} onInput={(e) => setSecretValue(e.currentTarget.value)} />
          </label>
        </>
      ) : (
        <>
          {kind.fields && <Fields specs={kind.fields} text={text} setText={setText} />}
          <label>
            Definition (JSON)
            <textarea class="mono" rows={16} value={text} onInput={(e) => setText(e.currentTarget.value)} spellcheck={false} />
          </label>
        </>
      )}
      {msg && <Notice kind="ok">{msg}</Notice>}
      <ErrorBox error={error} onClose={() => setError(null)} />
      <div class="row">
        <button type="submit" disabled={busy}>
          Save
        </button>
        {kind.kind === 'connectors' && !isNew && (
          <button type="button" class="secondary" onClick={runTest} disabled={busy}>
            {busy ? 'Testing…' : 'Test'}
          </button>
        )}
        {!isNew && (
          <button type="button" class="danger" onClick={del}>
            Delete
          </button>
        )}
      </div>
      {test && (
        <div class={test.ok ? 'notice ok' : 'error'} role="status" data-testid="test-result">
          Test {test.ok ? 'passed' : 'failed'}: {test.message}
          {test.status_code ? ` [${test.status_code}]` : ''}
        </div>
      )}
    </form>
  );
}

function ScheduleInfo({ rec }: { rec: Record<string, any> }) {
  const next: string[] = Array.isArray(rec.next_runs) ? rec.next_runs.slice(0, 3) : [];
  const recent: { scheduled_at?: string; started_at?: string; execution_id?: string }[] = Array.isArray(rec.recent_runs) ? rec.recent_runs.slice(-5).reverse() : [];
  return (
    <div class="small">
      {rec.warning && <p class="error">{rec.warning}</p>}
      <p>
        {rec.paused ? 'Paused' : 'Active'}
        {next.length > 0 && <> • next runs: {next.map(fmtTime).join(', ')}</>}
        {typeof rec.actions === 'number' && <> • {rec.actions} run{rec.actions === 1 ? '' : 's'} so far</>}
        {rec.skipped_overlap > 0 && <> • {rec.skipped_overlap} skipped (overlap)</>}
      </p>
      {recent.length > 0 && (
        <p>
          Recent runs:{' '}
          {recent.map((r, i) => (
            <>
              {i > 0 && ', '}
              {r.execution_id ? <a href={href(['executions', r.execution_id])}>{fmtTime(r.started_at ?? r.scheduled_at)}</a> : fmtTime(r.scheduled_at)}
            </>
          ))}
        </p>
      )}
    </div>
  );
}

/** Form fields bound to keys of the JSON definition (the textarea stays the source of truth). */
function Fields({ specs, text, setText }: { specs: FieldSpec[]; text: string; setText: (s: string) => void }) {
  const [flows, setFlows] = useState<string[]>([]);
  const [flowsError, setFlowsError] = useState<unknown>(null);
  useEffect(() => {
    if (!specs.some((f) => f.type === 'flow')) return;
    // Fetched on every open: a flow created since is offered too.
    api('/flows').then((b) => setFlows(items<{ name: string }>(b).map((f) => f.name)), setFlowsError);
  }, []);
  let obj: Record<string, any> | null = null;
  try {
    const v = JSON.parse(text);
    if (v && typeof v === 'object' && !Array.isArray(v)) obj = v;
  } catch {
    /* shown below */
  }
  if (!obj) return <p class="muted small">The form fields are hidden while the JSON below does not parse as an object.</p>;
  const set = (k: string, v: unknown) => setText(pretty({ ...obj, [k]: v }));
  return (
    <div class="fields">
      <ErrorBox error={flowsError} />
      {specs.map((f) => {
        const v = obj![f.key];
        const id = `fld-${f.key}`;
        if (f.type === 'bool')
          return (
            <label class="check" for={id}>
              <input id={id} type="checkbox" checked={v !== false} onChange={(e) => set(f.key, e.currentTarget.checked)} /> {f.label}
            </label>
          );
        return (
          <div class="field">
            <label for={id}>{f.label}</label>
            {f.type === 'select' || (f.type === 'flow' && flows.length > 0) ? (
              <select id={id} value={v ?? ''} onChange={(e) => set(f.key, e.currentTarget.value)} aria-describedby={f.hint ? `${id}-hint` : undefined}>
                {f.type === 'flow' && <option value="">— choose a flow —</option>}
                {(f.type === 'flow' ? (v && !flows.includes(v) ? [v, ...flows] : flows) : f.options ?? []).map((o: string) => (
                  <option value={o}>{o}</option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                aria-describedby={f.hint ? `${id}-hint` : undefined}
                value={f.type === 'list' ? (Array.isArray(v) ? v.join(', ') : '') : v ?? ''}
                onInput={f.type === 'list' ? undefined : (e) => set(f.key, e.currentTarget.value)}
                onChange={f.type === 'list' ? (e) => set(f.key, e.currentTarget.value.split(',').map((x) => x.trim()).filter(Boolean)) : undefined}
              />
            )}
            {f.hint && (
              <span class="muted small" id={`${id}-hint`}>
                {f.hint}
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}
