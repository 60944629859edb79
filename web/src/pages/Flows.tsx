import { useState } from 'preact/hooks';
import { api, items } from '../api';
import { DEFAULT_SCRIPT } from '../editor/completions';
import { fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Notice, useAsync } from '../ui';

export interface FlowSummary {
  name: string;
  revision?: number;
  description?: string;
  updated_at?: string;
  created_at?: string;
  script?: string;
  /** Seconds each execution may run; absent or 0: the server's default. */
  max_runtime?: number;
}

export const enc = encodeURIComponent;

export async function renameFlow(from: string, to: string, existing: string[]) {
  if (!to || to === from) throw new Error('Enter a new, different name.');
  if (existing.includes(to)) throw new Error(`A flow named “${to}” already exists.`);
  const flow = await api<FlowSummary>(`/flows/${enc(from)}`);
  await api(`/flows/${enc(to)}`, { method: 'PUT', body: { script: flow.script ?? '', description: flow.description ?? '', ...(flow.max_runtime ? { max_runtime: flow.max_runtime } : {}) } });
  await api(`/flows/${enc(from)}`, { method: 'DELETE' });
}

export function FlowsPage({ query }: { query: URLSearchParams }) {
  const { data, error, loading, reload } = useAsync(() => api('/flows').then((b) => items<FlowSummary>(b)), []);
  const [q, setQ] = useState(query.get('q') ?? '');
  const [newName, setNewName] = useState('');
  const [actionError, setActionError] = useState<unknown>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [renameTo, setRenameTo] = useState('');
  const [msg, setMsg] = useState('');
  const flows = data ?? [];
  const names = flows.map((f) => f.name);
  const shown = flows.filter((f) => !q || `${f.name} ${f.description ?? ''}`.toLowerCase().includes(q.toLowerCase()));

  const create = async (e: Event) => {
    e.preventDefault();
    setActionError(null);
    const name = newName.trim();
    if (!name) return;
    if (names.includes(name)) {
      setActionError(new Error(`A flow named “${name}” already exists.`));
      return;
    }
    try {
      await api(`/flows/${enc(name)}`, { method: 'PUT', body: { script: DEFAULT_SCRIPT, description: '' } });
      navigate(href(['flows', name]));
    } catch (err) {
      setActionError(err);
    }
  };
  const doRename = async (e: Event) => {
    e.preventDefault();
    setActionError(null);
    try {
      await renameFlow(renaming!, renameTo.trim(), names);
      setMsg(`Renamed “${renaming}” to “${renameTo.trim()}”.`);
      setRenaming(null);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const del = async (name: string) => {
    if (!confirm(`Delete flow “${name}”? Its executions stay.`)) return;
    setActionError(null);
    try {
      await api(`/flows/${enc(name)}`, { method: 'DELETE' });
      setMsg(`Deleted “${name}”.`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section aria-labelledby="flows-title">
      <div class="page-head">
        <h1 id="flows-title">Flows</h1>
        <form class="inline" onSubmit={create} aria-label="Create a flow">
          <label>
            New flow name
            <input name="new_flow" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} placeholder="e.g. fetch_jokes" pattern="[A-Za-z0-9_.\-]+" title="Letters, digits, _ . -" />
          </label>
          <button type="submit">Create</button>
        </form>
      </div>
      <label class="search">
        Search
        <input
          type="search"
          name="q"
          value={q}
          onInput={(e) => {
            setQ(e.currentTarget.value);
            history.replaceState(null, '', href(['flows'], { q: e.currentTarget.value }));
          }}
          placeholder="Filter by name or description"
        />
      </label>
      {msg && <Notice kind="ok">{msg}</Notice>}
      <ErrorBox error={actionError} onClose={() => setActionError(null)} />
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Revision</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((f) => (
              <tr>
                <td>
                  {renaming === f.name ? (
                    <form class="inline" onSubmit={doRename}>
                      <label class="sr-only" for="rename-to">
                        New name for {f.name}
                      </label>
                      <input id="rename-to" value={renameTo} onInput={(e) => setRenameTo(e.currentTarget.value)} autoFocus />
                      <button type="submit">Rename</button>
                      <button type="button" class="secondary" onClick={() => setRenaming(null)}>
                        Cancel
                      </button>
                    </form>
                  ) : (
                    <a href={href(['flows', f.name])}>{f.name}</a>
                  )}
                </td>
                <td>{f.description}</td>
                <td>{f.revision ?? ''}</td>
                <td>{fmtTime(f.updated_at ?? f.created_at)}</td>
                <td class="actions">
                  <a href={href(['executions'], { flow: f.name })}>Executions</a>
                  <button
                    class="secondary"
                    onClick={() => {
                      setRenaming(f.name);
                      setRenameTo(f.name);
                    }}
                  >
                    Rename
                  </button>
                  <button class="danger" onClick={() => del(f.name)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  {flows.length ? 'No flow matches the search.' : 'No flows yet: create one above.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </section>
  );
}
