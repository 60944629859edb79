import { useState } from 'preact/hooks';
import { api, items } from '../api';
import { fmtTime } from '../format';
import { ErrorBox, Notice, useAsync } from '../ui';

interface Client {
  id: string;
  name?: string;
  role?: string;
  created_at?: string;
}

const ROLES = ['admin', 'editor', 'runner', 'viewer'];

export function ClientsPage() {
  const { data, error, loading, reload } = useAsync(() => api('/clients').then((b) => items<Client>(b)), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('runner');
  const [created, setCreated] = useState<{ id: string; secret: string; role?: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setActionError(null);
    setCreated(null);
    try {
      const r = await api<{ id: string; secret: string; role?: string }>('/clients', { method: 'POST', body: { name: name.trim(), role } });
      setCreated(r);
      setName('');
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const del = async (c: Client) => {
    if (!confirm(`Delete API client “${c.name ?? c.id}”? Its tokens stop working.`)) return;
    setActionError(null);
    try {
      await api(`/clients/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section aria-labelledby="clients-title">
      <h1 id="clients-title">API clients</h1>
      <p class="muted">Clients sign in with the OAuth2 client-credentials grant. Roles: admin (everything), editor (flows, connectors, run), runner (run and read executions), viewer (read only).</p>
      <form class="inline" onSubmit={create} aria-label="Create an API client">
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            {ROLES.map((r) => (
              <option value={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit">Create client</button>
      </form>
      {created && (
        <Notice kind="warn">
          <strong>Copy the secret now: it is shown only once.</strong>
          <dl class="facts">
            <dt>Client ID</dt>
            <dd class="mono select-all" data-testid="client-id">
              {created.id}
            </dd>
            <dt>Secret</dt>
            <dd class="mono select-all" data-testid="client-secret">
              {created.secret}
            </dd>
            <dt>Role</dt>
            <dd>{created.role ?? role}</dd>
          </dl>
          <button
            class="secondary"
            onClick={() => {
              if (!navigator.clipboard) return setActionError(new Error('The clipboard is not available here (it needs HTTPS or localhost): select the secret and copy it.'));
              navigator.clipboard.writeText(created.secret).catch((e) => setActionError(e));
            }}
          >
            Copy secret
          </button>
        </Notice>
      )}
      <ErrorBox error={actionError} onClose={() => setActionError(null)} />
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <div class="table-scroll">
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">ID</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.map((c) => (
                <tr>
                  <td>{c.name}</td>
                  <td class="mono">{c.id}</td>
                  <td>{c.role}</td>
                  <td>{fmtTime(c.created_at)}</td>
                  <td>
                    <button class="danger" onClick={() => del(c)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
              {data.length === 0 && (
                <tr>
                  <td colSpan={5} class="muted">
                    No clients.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
