import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, Execution, hasRole, items } from '../api';
import { DEFAULT_SCRIPT } from '../editor/completions';
import { fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Notice, StatusBadge, useAsync } from '../ui';
import { WaitingList } from './Waiting';

export interface FlowSummary {
  name: string;
  revision?: number;
  description?: string;
  updated_at?: string;
  created_at?: string;
  script?: string;
  /** Seconds each execution may run; absent or 0: the server's default. */
  max_runtime?: number;
  /** The declared inputs (JSON Schema), checked by every trigger. */
  inputs_schema?: unknown;
}

export const enc = encodeURIComponent;

export async function renameFlow(from: string, to: string, existing: string[]) {
  if (!to || to === from) throw new Error('Enter a new, different name.');
  if (existing.includes(to)) throw new Error(`A flow named “${to}” already exists.`);
  const flow = await api<FlowSummary>(`/flows/${enc(from)}`);
  await api(`/flows/${enc(to)}`, { method: 'PUT', body: { script: flow.script ?? '', description: flow.description ?? '', ...(flow.max_runtime ? { max_runtime: flow.max_runtime } : {}), ...(flow.inputs_schema ? { inputs_schema: flow.inputs_schema } : {}) } });
  await api(`/flows/${enc(from)}`, { method: 'DELETE' });
}

/** The newest top-level run of each flow shown: one small request per flow, once, for at most 50 at a time. */
function useLastRuns(names: string[]): Record<string, Execution | null> {
  const [last, setLast] = useState<Record<string, Execution | null>>({});
  const asked = useRef(new Set<string>());
  // Requests run to their end while the page stays (a search narrowing the list does not
  // cancel them); leaving the page cancels them.
  const ctrl = useRef(new AbortController());
  useEffect(() => () => ctrl.current.abort(), []);
  const key = names.join('\n');
  useEffect(() => {
    for (const n of names.filter((n) => !asked.current.has(n)).slice(0, 50)) {
      asked.current.add(n);
      api('/executions', { query: { flow: n, limit: 1, top_level: 'true' }, signal: ctrl.current.signal }).then(
        (b) => setLast((l) => ({ ...l, [n]: items<Execution>(b)[0] ?? null })),
        () => undefined, // the column stays empty
      );
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return last;
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
  const last = useLastRuns(shown.map((f) => f.name));

  // Run with no inputs (the declared defaults apply); a flow that needs inputs opens its editor's form.
  const runFlow = async (name: string) => {
    setActionError(null);
    try {
      const x = await api<Execution>(`/flows/${enc(name)}/executions`, { method: 'POST', body: { inputs: {} } });
      navigate(href(['executions', x.id]));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_inputs') {
        setActionError(new Error(`Flow “${name}” needs inputs: ${err.message}. Open it to fill in its form.`));
        return;
      }
      setActionError(err);
    }
  };

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
        {hasRole('editor') && (
        <form class="inline" onSubmit={create} aria-label="Create a flow">
          <label>
            New flow name
            <input name="new_flow" value={newName} onInput={(e) => setNewName(e.currentTarget.value)} placeholder="e.g. fetch_jokes" pattern="[A-Za-z0-9_.\-]+" title="Letters, digits, _ . -" />
          </label>
          <button type="submit">Create</button>
        </form>
        )}
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
      <WaitingList />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <div class="table-scroll">
          <table class="list" data-testid="flows-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="hide-narrow">
                  Description
                </th>
                <th scope="col" class="hide-narrow">
                  Revision
                </th>
                <th scope="col" class="hide-narrow">
                  Updated
                </th>
                <th scope="col">Last run</th>
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
                  <td class="hide-narrow">{f.description}</td>
                  <td class="hide-narrow">{f.revision ?? ''}</td>
                  <td class="hide-narrow">{fmtTime(f.updated_at ?? f.created_at)}</td>
                  <td data-testid="last-run">
                    {last[f.name] ? (
                      <a href={href(['executions', last[f.name]!.id])} title={last[f.name]!.status_message || `Started ${fmtTime(last[f.name]!.created_at)}`}>
                        <StatusBadge status={last[f.name]!.status} />
                      </a>
                    ) : last[f.name] === null ? (
                      <span class="muted">never</span>
                    ) : null}
                  </td>
                  <td class="actions">
                    {hasRole('runner') && (
                      <button onClick={() => runFlow(f.name)} aria-label={`Run ${f.name}`} data-testid="flow-run">
                        Run
                      </button>
                    )}
                    <a href={href(['executions'], { flow: f.name })}>Executions</a>
                    {hasRole('editor') && (
                      <>
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
                      </>
                    )}
                  </td>
                </tr>
              ))}
              {shown.length === 0 && (
                <tr>
                  <td colSpan={6} class="muted">
                    {flows.length ? 'No flow matches the search.' : 'No flows yet: create one above.'}
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
