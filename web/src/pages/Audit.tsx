import { useState } from 'preact/hooks';
import { api, items } from '../api';
import { fmtTime } from '../format';
import { ErrorBox, useAsync } from '../ui';

interface Entry {
  id: string | number;
  at?: string;
  actor?: string;
  actor_kind?: string;
  action?: string;
  target_type?: string;
  target?: string;
  address?: string;
  detail?: unknown;
}

const FIELDS = ['actor', 'action', 'target', 'since', 'until'] as const;
type Filters = Record<(typeof FIELDS)[number], string>;
const PAGE = 50;

/** A date-time input's local value as RFC 3339 (the API's since/until). */
function rfc3339(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return isNaN(d.getTime()) ? v : d.toISOString();
}

/** The audit log (admin): who changed or ran what, newest first, with filters and cursor paging. */
export function AuditPage({ query }: { query: URLSearchParams }) {
  const initial = Object.fromEntries(FIELDS.map((k) => [k, query.get(k) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(initial);
  const [filters, setFilters] = useState<Filters>(initial);
  // Cursors of the pages before the one shown ('' is the first page).
  const [cursors, setCursors] = useState<string[]>([]);
  const [cursor, setCursor] = useState('');
  const { data, error, loading } = useAsync(
    () =>
      api('/audit', {
        query: { actor: filters.actor, action: filters.action, target: filters.target, since: rfc3339(filters.since), until: rfc3339(filters.until), limit: PAGE, cursor: cursor || undefined },
      }).then((b: any) => ({ list: items<Entry>(b), next: (b?.next_cursor as string | null) ?? '' })),
    [filters, cursor],
  );
  const apply = (e: Event) => {
    e.preventDefault();
    setFilters({ ...form });
    setCursors([]);
    setCursor('');
  };
  const set = (k: keyof Filters, v: string) => setForm({ ...form, [k]: v });
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <p class="muted">Every change and every start, cancel, re-run and answer: who (user or API client), when, what and from which address. Newest first.</p>
      <form class="filters" onSubmit={apply} aria-label="Filter the audit log">
        <label>
          Actor
          <input name="actor" placeholder="user:alice" value={form.actor} onInput={(e) => set('actor', e.currentTarget.value)} />
        </label>
        <label>
          Action
          <input name="action" placeholder="flow.save" value={form.action} onInput={(e) => set('action', e.currentTarget.value)} />
        </label>
        <label>
          Target
          <input name="target" value={form.target} onInput={(e) => set('target', e.currentTarget.value)} />
        </label>
        <label>
          Since
          <input name="since" type="datetime-local" value={form.since} onInput={(e) => set('since', e.currentTarget.value)} />
        </label>
        <label>
          Until
          <input name="until" type="datetime-local" value={form.until} onInput={(e) => set('until', e.currentTarget.value)} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <>
          <div class="table-scroll">
            <table class="list" data-testid="audit-table">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Address</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {data.list.map((x) => (
                  <tr data-action={x.action}>
                    <td>{fmtTime(x.at)}</td>
                    <td class="mono">{x.actor}</td>
                    <td class="mono">{x.action}</td>
                    <td>
                      {x.target_type ? <span class="muted">{x.target_type} </span> : null}
                      <span class="mono">{x.target}</span>
                    </td>
                    <td class="mono">{x.address}</td>
                    <td class="mono small">{x.detail && Object.keys(x.detail as object).length ? JSON.stringify(x.detail) : ''}</td>
                  </tr>
                ))}
                {data.list.length === 0 && (
                  <tr>
                    <td colSpan={6} class="muted">
                      No entries.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <div class="pager">
            <button
              class="secondary"
              disabled={!cursors.length}
              onClick={() => {
                setCursor(cursors[cursors.length - 1]);
                setCursors(cursors.slice(0, -1));
              }}
            >
              Newer
            </button>{' '}
            <button
              class="secondary"
              disabled={!data.next}
              onClick={() => {
                setCursors([...cursors, cursor]);
                setCursor(data.next);
              }}
            >
              Older
            </button>
          </div>
        </>
      )}
    </section>
  );
}
