import { useEffect, useState } from 'preact/hooks';
import { api, Execution, hasRole, isEnded, items } from '../api';
import { duration, fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, StatusBadge, TryLine, useAsync, useNow } from '../ui';
import { rerun } from './Execution';
import { WaitingList } from './Waiting';

const STATUSES = ['PENDING', 'RUNNING', 'WAITING', 'ENDED_SUCCESS', 'ENDED_ERROR', 'ENDED_CANCELLED'];
const TRIGGERS = ['api', 'webhook', 'schedule', 'parent', 'draft', 'rerun', 'replay'];
const FILTERS = ['flow', 'status', 'type', 'trigger', 'since', 'until', 'children'] as const;

/** The first line of an error, short enough for a table cell. */
function shortMessage(m: string): string {
  const first = m.split('\n')[0];
  return first.length > 120 ? first.slice(0, 117) + '…' : first;
}

/** datetime-local value (local time) <-> ISO string */
function toLocalInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}
function fromLocalInput(v: string): string {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d.getTime()) ? '' : d.toISOString();
}

export function ExecutionsPage({ query }: { query: URLSearchParams }) {
  const filters: Record<string, string> = {};
  for (const f of FILTERS) filters[f] = query.get(f) ?? '';
  // Input filters travel as the API's own input.<path>=<value> parameters.
  const inputs: Record<string, string> = {};
  query.forEach((v, k) => {
    if (k.startsWith('input.')) inputs[k] = v;
  });
  const inputText = Object.entries(inputs)
    .map(([k, v]) => `${k.slice(6)}=${v}`)
    .join(' ');
  const cursor = query.get('cursor') ?? '';
  const prev = query.get('prev') ?? ''; // comma-separated stack of earlier cursors
  const limit = query.get('limit') ?? '25';
  const [form, setForm] = useState(filters);
  const [inputForm, setInputForm] = useState(inputText);
  const [inputError, setInputError] = useState<unknown>(null);
  const key = query.toString();
  // Top-level runs unless children are asked for (or the filter selects only children).
  const { children, ...apiFilters } = filters;
  const topLevel = !children && filters.type !== 'CONNECTION' && filters.trigger !== 'parent';
  const { data, error, loading, reload } = useAsync(
    () =>
      api('/executions', { query: { ...apiFilters, ...inputs, top_level: topLevel ? 'true' : undefined, limit, cursor } }).then((b) => ({
        list: items<Execution>(b),
        next: (b?.next_cursor as string | null) ?? null,
      })),
    [key],
  );
  const [rowError, setRowError] = useState<unknown>(null);
  const doRerun = async (x: Execution) => {
    setRowError(null);
    try {
      navigate(href(['executions', (await rerun(x.id, 'latest')).id]));
    } catch (e) {
      setRowError(e);
    }
  };

  const [auto, setAuto] = useState(true);
  const anyLive = !!data?.list.some((x) => !x.status.startsWith('ENDED_'));
  const now = useNow(anyLive);
  useEffect(() => {
    // Keep the first page current while something on it is still running.
    if (!auto || cursor || !anyLive) return;
    const t = setInterval(() => reload(), 3000);
    return () => clearInterval(t);
  }, [auto, cursor, anyLive, reload]);

  const apply = (e: Event) => {
    e.preventDefault();
    setInputError(null);
    const inp: Record<string, string> = {};
    for (const part of inputForm.trim().split(/\s+/).filter(Boolean)) {
      const i = part.indexOf('=');
      if (i <= 0) {
        setInputError(new Error(`Input filter “${part}” is not key=value (like customer=42 or order.id=7).`));
        return;
      }
      inp[`input.${part.slice(0, i)}`] = part.slice(i + 1);
    }
    navigate(href(['executions'], { ...form, ...inp, limit }));
  };
  const go = (c: string, stack: string) => navigate(href(['executions'], { ...filters, ...inputs, limit, cursor: c, prev: stack }));
  const setF = (k: string, v: string) => setForm((f) => ({ ...f, [k]: v }));

  return (
    <section aria-labelledby="exe-title">
      <div class="page-head">
        <h1 id="exe-title">Executions</h1>
        <div class="spacer" />
        <label class="check">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.currentTarget.checked)} /> Auto-refresh while running
        </label>
        <button class="secondary" onClick={() => reload()}>
          Refresh
        </button>
      </div>
      <WaitingList />
      <form class="filters" onSubmit={apply} aria-label="Filter executions">
        <div class="field">
          <label for="flt-flow">Flow</label>
          <input id="flt-flow" name="flow" value={form.flow} onInput={(e) => setF('flow', e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="flt-status">Status</label>
          <select id="flt-status" name="status" value={form.status} onChange={(e) => setF('status', e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="flt-type">Type</label>
          <select id="flt-type" name="type" value={form.type} onChange={(e) => setF('type', e.currentTarget.value)}>
            <option value="">any</option>
            <option value="FLOW">FLOW</option>
            <option value="CONNECTION">CONNECTION</option>
          </select>
        </div>
        <div class="field">
          <label for="flt-trigger">Trigger</label>
          <select id="flt-trigger" name="trigger" value={form.trigger} onChange={(e) => setF('trigger', e.currentTarget.value)}>
            <option value="">any</option>
            {TRIGGERS.map((t) => (
              <option value={t}>{t}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="flt-since">Since</label>
          <input type="datetime-local" id="flt-since" name="since" value={toLocalInput(form.since)} onInput={(e) => setF('since', fromLocalInput(e.currentTarget.value))} />
        </div>
        <div class="field">
          <label for="flt-until">Until</label>
          <input type="datetime-local" id="flt-until" name="until" value={toLocalInput(form.until)} onInput={(e) => setF('until', fromLocalInput(e.currentTarget.value))} />
        </div>
        <div class="field">
          <label for="flt-input">Inputs</label>
          <input id="flt-input" name="input" value={inputForm} onInput={(e) => setInputForm(e.currentTarget.value)} placeholder="customer=42 order.id=7" title="Executions whose inputs have these values: key=value, dotted paths for nested keys, separated by spaces" />
        </div>
        <label class="check">
          <input type="checkbox" name="children" checked={!!form.children} onChange={(e) => setF('children', e.currentTarget.checked ? '1' : '')} /> Include child executions
        </label>
        <button type="submit">Apply</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setForm({ flow: '', status: '', type: '', trigger: '', since: '', until: '', children: '' });
            setInputForm('');
            setInputError(null);
            navigate(href(['executions']));
          }}
        >
          Clear
        </button>
      </form>
      <p class="muted small" data-testid="list-scope">
        {topLevel ? 'Showing the runs triggers started; child executions (connections, child flows) are in each run’s tree.' : 'Showing child executions too.'}
      </p>
      <ErrorBox error={inputError} onClose={() => setInputError(null)} />
      <ErrorBox error={rowError} onClose={() => setRowError(null)} />
      <ErrorBox error={error} />
      {loading && !data && <p class="muted">Loading…</p>}
      {data && (
        <>
          <div class="table-scroll">
            <table class="list" data-testid="executions-table">
              <thead>
                <tr>
                  <th scope="col">Execution</th>
                  <th scope="col">Type</th>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Started by</th>
                  <th scope="col">Created</th>
                  <th scope="col">Duration</th>
                  <th scope="col">Error</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.list.map((x) => (
                  <tr>
                    <td>
                      <a href={href(['executions', x.id])} class="mono" title={x.id}>
                        {x.id.slice(0, 12)}
                      </a>
                    </td>
                    <td>{x.type}</td>
                    <td>{x.name}</td>
                    <td>
                      <StatusBadge status={x.status} />
                    </td>
                    <td>{x.trigger != null ? String(x.trigger) : ''}</td>
                    <td class="mono" data-testid="row-started-by">{x.started_by ?? ''}</td>
                    <td>{fmtTime(x.created_at)}</td>
                    <td>{duration(x.started_at ?? x.created_at, x.ended_at, now)}</td>
                    <td class="err-cell" title={x.status_message || undefined}>
                      {x.status === 'ENDED_ERROR' && x.status_message ? shortMessage(x.status_message) : !isEnded(x.status) ? <TryLine exe={x} /> : ''}
                    </td>
                    <td class="actions">
                      {x.type === 'FLOW' && hasRole('runner') && (
                        <button class="secondary" onClick={() => doRerun(x)} aria-label={`Re-run ${x.name} (${x.id.slice(0, 12)})`} data-testid="row-rerun">
                          Re-run
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
                {data.list.length === 0 && (
                  <tr>
                    <td colSpan={10} class="muted">
                      No executions match.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button
              class="secondary"
              disabled={!cursor}
              onClick={() => {
                const stack = prev ? prev.split(',') : [];
                const back = stack.pop() ?? '-';
                go(back === '-' ? '' : back, stack.join(','));
              }}
            >
              ← Newer
            </button>
            <button class="secondary" disabled={!data.next} onClick={() => go(data.next!, [...(prev ? prev.split(',') : []), cursor || '-'].join(','))}>
              Older →
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
