import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, items } from '../api';
import { fmtTime, pretty } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Json, Notice, useAsync } from '../ui';

const enc = encodeURIComponent;

export interface Kind {
  kind: string;
  title: string;
  singular: string;
  help: string;
  template: unknown;
  writeOnly?: boolean; // secrets
  fields?: FieldSpec[];
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
    template: { connector_type: 'REST', inputs: { url: 'https://api.example.com/', authentication_method: 'bearer', token: { secret: 'API_TOKEN' } }, domains: ['api.example.com'], description: '' },
  },
  {
    kind: 'secrets',
    title: 'Secrets',
    singular: 'secret',
    help: 'Secrets are write-only: their values are encrypted at rest and never shown again. Reference them as {"secret": "NAME"} in connectors and grants.',
    template: null,
    writeOnly: true,
  },
  {
    kind: 'grants',
    title: 'Grants',
    singular: 'grant',
    help: 'OAuth2 grants for the REST connector\'s "grant" input: client credentials, or a JWT client assertion (type "jwt_assertion", private_key, kid, alg ES256|RS256).',
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
      { key: 'key', label: 'Key', type: 'text', hint: 'Callers send it as ?key= or X-Flowd-Key.' },
      { key: 'enabled', label: 'Enabled', type: 'bool' },
    ],
    template: { flow: '', key: '', enabled: true },
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
      { key: 'enabled', label: 'Enabled', type: 'bool' },
    ],
    template: { flow: '', cron: '0 * * * *', inputs: {}, enabled: true, timezone: 'UTC' },
  },
  {
    kind: 'settings',
    title: 'Settings',
    singular: 'setting',
    help: 'Named JSON values shared between executions (system.setting(name) in scripts).',
    template: { value: {} },
  },
];

const META = ['name', 'state', 'created_at', 'updated_at', 'id', 'revision'];

function bodyOf(rec: Record<string, unknown>): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec ?? {})) if (!META.includes(k)) b[k] = v;
  return b;
}

function randomKey(): string {
  const a = new Uint8Array(18);
  crypto.getRandomValues(a);
  return btoa(String.fromCharCode(...a)).replace(/\+/g, '-').replace(/\//g, '_');
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
                  {kind.kind === 'connectors' && r.state && <span class={`badge ${r.state.healthy ? 'ok' : 'bad'}`}>{r.state.healthy ? 'healthy' : r.state.code ?? 'unhealthy'}</span>}
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

let flash = '';

function Editor({ kind, name, onChanged }: { kind: Kind; name: string; onChanged: () => void }) {
  const isNew = !name;
  const [newName, setNewName] = useState('');
  const [text, setText] = useState(isNew ? pretty(kind.kind === 'webhooks' ? { ...(kind.template as object), key: randomKey() } : kind.template) : '');
  const [secretValue, setSecretValue] = useState('');
  const [rec, setRec] = useState<Record<string, any> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [msg, setMsg] = useState(() => {
    const f = flash;
    flash = '';
    return f;
  });
  const [testResult, setTestResult] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const load = async () => {
    if (isNew) return;
    try {
      const r = await api<Record<string, any>>(`/${kind.kind}/${enc(name)}`);
      setRec(r);
      if (!kind.writeOnly) setText(pretty(bodyOf(r)));
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
        body = JSON.parse(text);
      } catch (err) {
        setError(new Error(`Not valid JSON: ${(err as Error).message}`));
        return;
      }
    }
    setBusy(true);
    try {
      await api(`/${kind.kind}/${enc(target)}`, { method: 'PUT', body });
      setSecretValue('');
      setMsg(`Saved ${kind.singular} “${target}”.`);
      onChanged();
      if (isNew) {
        flash = `Saved ${kind.singular} “${target}”.`;
        navigate(href([kind.kind, target]));
      }
      else load();
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

  const test = async () => {
    setError(null);
    setTestResult(undefined);
    setBusy(true);
    try {
      setTestResult(await api(`/connectors/${enc(name)}/test`, { method: 'POST' }));
      load();
      onChanged();
    } catch (err) {
      setError(err);
      if (err instanceof ApiError) setTestResult(err.body);
    } finally {
      setBusy(false);
    }
  };

  const callUrl = `${location.origin}/api/v1/webhooks/${enc(isNew ? newName || '{name}' : name)}/call`;
  return (
    <form class="cfg-editor" onSubmit={save} aria-label={isNew ? `New ${kind.singular}` : `${kind.singular} ${name}`}>
      <h2>{isNew ? `New ${kind.singular}` : name}</h2>
      {isNew && (
        <label>
          Name
          <input value={newName} onInput={(e) => setNewName(e.currentTarget.value)} required autoFocus />
        </label>
      )}
      {kind.kind === 'connectors' && rec?.state && (
        <p>
          State: <span class={`badge ${rec.state.healthy ? 'ok' : 'bad'}`}>{rec.state.healthy ? 'healthy' : 'not healthy'}</span> <span class="mono">{rec.state.code}</span> {rec.state.reason}
        </p>
      )}
      {kind.kind === 'webhooks' && (
        <p>
          Call URL: <code class="select-all">{callUrl}</code> with <code>?key=…</code> or header <code>X-Flowd-Key</code>
        </p>
      )}
      {kind.writeOnly ? (
        <>
          {!isNew && rec && (
            <p class="muted small">
              Created {fmtTime(rec.created_at)} • updated {fmtTime(rec.updated_at)}
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
          <button type="button" class="secondary" onClick={test} disabled={busy}>
            Test
          </button>
        )}
        {!isNew && (
          <button type="button" class="danger" onClick={del}>
            Delete
          </button>
        )}
      </div>
      {testResult !== undefined && (
        <>
          <h3>Test result</h3>
          <Json value={testResult} />
        </>
      )}
    </form>
  );
}

let flowNames: Promise<string[]> | null = null;

/** Form fields bound to keys of the JSON definition (the textarea stays the source of truth). */
function Fields({ specs, text, setText }: { specs: FieldSpec[]; text: string; setText: (s: string) => void }) {
  const [flows, setFlows] = useState<string[]>([]);
  useEffect(() => {
    if (!specs.some((f) => f.type === 'flow')) return;
    flowNames = flowNames ?? api('/flows').then((b) => items<{ name: string }>(b).map((f) => f.name));
    flowNames.then(setFlows, () => (flowNames = null));
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
