import { useEffect, useRef, useState } from 'preact/hooks';
import { api, currentSession, errorPosition, Execution, fetchLogs, hasRole, isEnded, items, LogLine, streamLogs } from '../api';
import { duration, fmtDuration, fmtTime } from '../format';
import { href, navigate } from '../router';
import { useChildLogs, withChildLines } from '../childlogs';
import { ErrorBox, Json, LogView, Notice, RecordsTable, StatusBadge, Tabs, TryLine, useNow } from '../ui';
import { draftOf } from './FlowEditor';

const enc = encodeURIComponent;

interface Node {
  exe: Execution;
  children: Node[];
  error?: unknown;
}

const MAX_NODES = 300;

async function loadTree(exe: Execution, depth: number, budget: { n: number }): Promise<Node> {
  const node: Node = { exe, children: [] };
  if (depth <= 0 || budget.n <= 0) return node;
  try {
    const kids = items<Execution>(await api(`/executions/${enc(exe.id)}/children`));
    budget.n -= kids.length;
    node.children = await Promise.all(kids.map((k) => loadTree(k, depth - 1, budget)));
  } catch (e) {
    node.error = e;
  }
  return node;
}

function findNode(n: Node | null, id: string): Node | null {
  if (!n) return null;
  if (n.exe.id === id) return n;
  for (const c of n.children) {
    const f = findNode(c, id);
    if (f) return f;
  }
  return null;
}

function descendants(n: Node | null, out: Execution[] = []): Execution[] {
  if (!n) return out;
  for (const c of n.children) {
    out.push(c.exe);
    descendants(c, out);
  }
  return out;
}

/** Starts a re-run of an execution ("latest" or "same" revision); resolves with the new execution. */
export function rerun(id: string, revision: 'latest' | 'same'): Promise<Execution> {
  return api<Execution>(`/executions/${enc(id)}/rerun`, { method: 'POST', body: { revision } });
}

/** Starts a replay of an ended execution against its recorded responses; without a script, the flow's latest revision. */
export function replay(id: string, script?: string): Promise<Execution> {
  return api<Execution>(`/executions/${enc(id)}/replay`, { method: 'POST', body: script !== undefined ? { script } : {} });
}

/** The pending `this.message` ({id, subject, body, fields, timeout}) of a waiting execution, if any. */
function pendingMessage(exe: Execution): any | null {
  if (exe.status !== 'WAITING') return null;
  const m = exe.message ?? exe.outputs?.message;
  return m && typeof m === 'object' ? m : null;
}

export function ExecutionPage({ id }: { id: string }) {
  const [exe, setExe] = useState<Execution | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [logError, setLogError] = useState<unknown>(null);
  const [tree, setTree] = useState<Node | null>(null);
  const [treeError, setTreeError] = useState<unknown>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const canRun = hasRole('runner');
  const [notice, setNotice] = useState('');
  const [outTab, setOutTab] = useState('json');
  // Messages answered from this page: hidden at once, before the status moves on.
  const [answered, setAnswered] = useState<string[]>([]);
  const [showChildLogs, setShowChildLogs] = useState(true);
  const [starting, setStarting] = useState(false);
  const exeRef = useRef<Execution | null>(null);
  const treeRef = useRef<Node | null>(null);
  treeRef.current = tree;
  // Live tries show within a second on small trees; a large tree (one request per
  // node) is read every 3 s.
  const pollEvery = () => (descendants(treeRef.current).length <= 30 ? 1000 : 3000);
  exeRef.current = exe;
  const childLines = useChildLogs(id, descendants(tree), showChildLogs);
  const now = useNow(!!exe && !isEnded(exe.status));

  const refreshTree = async (root: Execution) => {
    try {
      setTree(await loadTree(root, 8, { n: MAX_NODES }));
      setTreeError(null);
    } catch (e) {
      setTreeError(e);
    }
  };

  const refresh = async () => {
    try {
      const x = await api<Execution>(`/executions/${enc(id)}`);
      setExe(x);
      setError(null);
      refreshTree(x);
      return x;
    } catch (e) {
      setError(e);
      return null;
    }
  };

  // Load, then stream the log while it runs and poll the execution and its tree.
  useEffect(() => {
    let stop: (() => void) | null = null;
    let timer: number | undefined;
    let gone = false;
    const ctrl = new AbortController();
    (async () => {
      const x = await refresh();
      if (!x || gone) return;
      let backlog: LogLine[] = [];
      try {
        backlog = await fetchLogs(id, ctrl.signal);
        if (gone) return;
        setLogs(backlog);
      } catch (e) {
        if (!gone) setLogError(e);
      }
      if (isEnded(x.status)) return;
      const after = backlog.length ? backlog[backlog.length - 1].seq : 0;
      stop = streamLogs(
        id,
        {
          onLog: (l) => setLogs((ls) => (ls.some((o) => o.seq === l.seq) ? ls : [...ls, l])),
          onStatus: (s) => {
            setExe(s);
            refreshTree(s);
          },
          onEnd: (s) => {
            if (s) setExe(s);
            refresh();
          },
          onError: setLogError,
        },
        after,
      );
      const poll = async () => {
        if (gone) return;
        const cur = exeRef.current;
        if (cur && isEnded(cur.status)) {
          // One last refresh so that the tree shows the final states.
          refreshTree(cur);
          return;
        }
        await refresh();
        timer = window.setTimeout(poll, pollEvery());
      };
      timer = window.setTimeout(poll, pollEvery());
    })();
    return () => {
      gone = true;
      ctrl.abort();
      stop?.();
      clearTimeout(timer);
    };
  }, [id]);

  const cancel = async () => {
    if (!confirm('Cancel this execution and its running children?')) return;
    setCancelling(true);
    setActionError(null);
    try {
      const r = await api<Execution | null>(`/executions/${enc(id)}/cancel`, { method: 'POST' });
      if (r && (r as Execution).status) setExe(r as Execution);
      setNotice('Cancellation requested.');
      await refresh();
    } catch (e) {
      setActionError(e);
    } finally {
      setCancelling(false);
    }
  };

  const start = async (fn: () => Promise<Execution>) => {
    setStarting(true);
    setActionError(null);
    try {
      const x = await fn();
      navigate(href(['executions', x.id]));
    } catch (e) {
      setActionError(e);
    } finally {
      setStarting(false);
    }
  };

  if (error && !exe)
    return (
      <section>
        <h1>Execution {id}</h1>
        <ErrorBox error={error} />
        <a href="#/executions">Back to executions</a>
      </section>
    );
  if (!exe) return <p class="muted">Loading…</p>;

  const pending = pendingMessage(exe);
  const msgKey = pending ? `${exe.id}/${pending.id ?? ''}` : '';
  const msg = pending && !answered.includes(msgKey) ? pending : null;
  const sel = selected ? findNode(tree, selected) : null;
  const draft = exe.type === 'FLOW' ? draftOf(exe.name) : null;
  const errAt = exe.type === 'FLOW' && exe.status === 'ENDED_ERROR' ? errorPosition(exe.status_message, exe.name) : null;
  const shownLogs = withChildLines(logs, childLines);

  return (
    <section aria-labelledby="x-title" class="execution-page">
      <div class="page-head">
        <h1 id="x-title">
          <a href="#/executions">Executions</a> / {exe.type === 'CONNECTION' ? 'connection' : 'flow'} <span class="mono">{exe.name}</span>
        </h1>
        <StatusBadge status={exe.status} />
        <div class="spacer" />
        {!isEnded(exe.status) && canRun && (
          <button class="danger" onClick={cancel} disabled={cancelling} data-testid="cancel">
            {cancelling ? 'Cancelling…' : 'Cancel execution'}
          </button>
        )}
        {exe.type === 'FLOW' && canRun && (
          <>
            <button onClick={() => start(() => rerun(exe.id, 'latest'))} disabled={starting} data-testid="rerun" title="Starts a new execution with the same inputs, on the flow's latest revision">
              Re-run
            </button>
            {exe.flow_revision ? (
              <button class="secondary" onClick={() => start(() => rerun(exe.id, 'same'))} disabled={starting} title="Starts a new execution with the same inputs, on the revision this one ran">
                Re-run revision {exe.flow_revision}
              </button>
            ) : null}
          </>
        )}
        {exe.type === 'FLOW' && isEnded(exe.status) && hasRole('editor') && (
          <>
            <button class="secondary" onClick={() => start(() => replay(exe.id))} disabled={starting} data-testid="replay" title="Runs the flow's latest revision against the responses this execution recorded, calling no service">
              Replay
            </button>
            {draft !== null && (
              <button class="secondary" onClick={() => start(() => replay(exe.id, draft))} disabled={starting} data-testid="replay-with-draft" title="Runs the unsaved script of the flow editor against the responses this execution recorded">
                Replay with the editor's draft
              </button>
            )}
          </>
        )}
        <button class="secondary" onClick={() => refresh()}>
          Refresh
        </button>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <ErrorBox error={actionError} onClose={() => setActionError(null)} />
      <ErrorBox error={error} />
      {exe.status_message && (
        <p class={exe.status === 'ENDED_ERROR' ? 'error' : 'notice'} data-testid="status-message">
          {exe.status_message}
        </p>
      )}
      {errAt && (
        <p class="small">
          <a
            href={href(['flows', exe.name], { line: String(errAt.line), col: String(errAt.column), msg: (exe.status_message ?? '').split('\n')[0] })}
            data-testid="error-line-link"
            title={exe.trigger === 'draft' ? 'This run was a draft: the editor shows the saved script, whose lines may differ' : `The editor shows the latest revision; this run ran revision ${exe.flow_revision}`}
          >
            Show line {errAt.line} in the editor
          </a>
        </p>
      )}
      <dl class="facts">
        <dt>ID</dt>
        <dd class="mono">{exe.id}</dd>
        <dt>Type</dt>
        <dd>{exe.type}</dd>
        <dt>Status</dt>
        <dd data-testid="status">{exe.status}</dd>
        <dt>Trigger</dt>
        <dd data-testid="trigger">{exe.trigger != null ? String(exe.trigger) : '—'}</dd>
        <dt>Started by</dt>
        <dd class="mono" data-testid="started-by">
          {exe.started_by ?? (exe.parent_id ? 'its parent execution' : '—')}
        </dd>
        {exe.rerun_of && (
          <>
            <dt>Re-run of</dt>
            <dd>
              <a class="mono" href={href(['executions', exe.rerun_of])} data-testid="rerun-of">
                {exe.rerun_of}
              </a>
            </dd>
          </>
        )}
        {exe.replay_of && (
          <>
            <dt>Replay of</dt>
            <dd>
              <a class="mono" href={href(['executions', exe.replay_of])} data-testid="replay-of">
                {exe.replay_of}
              </a>
            </dd>
          </>
        )}
        {exe.type === 'CONNECTION' && (
          <>
            <dt>Tries</dt>
            <dd>
              <TryLine exe={exe} />
            </dd>
          </>
        )}
        {exe.type === 'FLOW' && (
          <>
            <dt>Flow</dt>
            <dd>
              <a href={href(['flows', exe.name])}>{exe.name}</a>
              {exe.flow_revision != null ? ` (revision ${exe.flow_revision})` : ''}
            </dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{fmtTime(exe.created_at)}</dd>
        <dt>Started</dt>
        <dd>{fmtTime(exe.started_at)}</dd>
        <dt>Ended</dt>
        <dd>{fmtTime(exe.ended_at)}</dd>
        <dt>Duration</dt>
        <dd>{duration(exe.started_at ?? exe.created_at, exe.ended_at, now)}</dd>
        {exe.parent_id && (
          <>
            <dt>Parent</dt>
            <dd>
              <a class="mono" href={href(['executions', exe.parent_id])}>
                {exe.parent_id}
              </a>
            </dd>
          </>
        )}
        {exe.root_id && exe.root_id !== exe.id && (
          <>
            <dt>Root</dt>
            <dd>
              <a class="mono" href={href(['executions', exe.root_id])}>
                {exe.root_id}
              </a>
            </dd>
          </>
        )}
      </dl>

      {msg && !canRun && (
        <Notice kind="warn">This execution waits for an answer to “{String(msg.subject ?? 'a message')}”; your role ({currentSession()?.role}) cannot answer it (the runner role can).</Notice>
      )}
      {msg && canRun && (
        <MessageForm
          key={msgKey}
          id={exe.id}
          message={msg}
          onAnswered={() => {
            setAnswered((a) => [...a, msgKey]);
            setNotice('Answer sent; the execution goes on.');
            refresh();
          }}
        />
      )}

      <div class="two-col">
        <section aria-labelledby="in-title">
          <h2 id="in-title">{exe.type === 'CONNECTION' ? 'Request (inputs)' : 'Inputs'}</h2>
          <Json value={exe.inputs} label="Inputs" />
        </section>
        <section aria-labelledby="out-title">
          <h2 id="out-title">{exe.type === 'CONNECTION' ? 'Response (outputs)' : 'Outputs'}</h2>
          <Tabs
            label="Output view"
            tabs={[
              ['json', 'JSON'],
              ['table', 'Table'],
            ]}
            value={outTab}
            onChange={setOutTab}
          />
          {outTab === 'json' ? <Json value={exe.outputs} label="Outputs" /> : <RecordsTable output={exe.outputs} />}
        </section>
      </div>

      <section aria-labelledby="log-title">
        <div class="row">
          <h2 id="log-title">Log</h2>
          <label class="check small">
            <input type="checkbox" checked={showChildLogs} onChange={(e) => setShowChildLogs(e.currentTarget.checked)} data-testid="child-logs-toggle" /> Show the log lines of child flows
          </label>
        </div>
        <ErrorBox error={logError} onClose={() => setLogError(null)} />
        <LogView lines={shownLogs} live={!isEnded(exe.status)} />
      </section>

      <section aria-labelledby="tree-title" data-testid="tree">
        <h2 id="tree-title">Execution tree</h2>
        <ErrorBox error={treeError} />
        {!tree && <p class="muted">Loading…</p>}
        {tree && (
          <ul class="tree" aria-label="Execution tree">
            <TreeItem node={tree} selected={selected} onSelect={setSelected} current={exe.id} now={now} />
          </ul>
        )}
        {sel && <NodeDetails node={sel} />}
      </section>
    </section>
  );
}

function TreeItem({ node, selected, onSelect, current, now }: { node: Node; selected: string | null; onSelect: (id: string) => void; current: string; now: number }) {
  const x = node.exe;
  return (
    <li>
      <button class={`tree-node link ${selected === x.id ? 'active' : ''}`} onClick={() => onSelect(x.id)} aria-pressed={selected === x.id} data-type={x.type} data-testid="tree-node">
        <span class={`type type-${x.type.toLowerCase()}`}>{x.type}</span> <span class="mono">{x.name}</span> <StatusBadge status={x.status} /> <span class="muted">{duration(x.started_at ?? x.created_at, x.ended_at, now)}</span> <TryLine exe={x} />
        {x.id === current && <span class="muted"> (this execution)</span>}
      </button>
      {x.id !== current && (
        <a class="small" href={href(['executions', x.id])} aria-label={`Open execution ${x.name}`}>
          open
        </a>
      )}
      {node.error != null && <ErrorBox error={node.error} />}
      {node.children.length > 0 && (
        <ul>
          {node.children.map((c) => (
            <TreeItem node={c} selected={selected} onSelect={onSelect} current={current} now={now} />
          ))}
        </ul>
      )}
    </li>
  );
}

function NodeDetails({ node }: { node: Node }) {
  const x = node.exe;
  const conn = x.type === 'CONNECTION';
  return (
    <section class="node-details" aria-label={`Details of ${x.name}`} data-testid="node-details">
      <h3>
        {x.type} <span class="mono">{x.name}</span> <StatusBadge status={x.status} /> <a href={href(['executions', x.id])}>Open execution page</a>
      </h3>
      <p class="muted small">
        {x.id} • {fmtTime(x.started_at ?? x.created_at)} • {duration(x.started_at ?? x.created_at, x.ended_at)}
      </p>
      {x.status_message && <p class={x.status === 'ENDED_ERROR' ? 'error' : 'muted'}>{x.status_message}</p>}
      <div class="two-col">
        <div>
          <h4>{conn ? 'Request (inputs)' : 'Inputs'}</h4>
          <Json value={x.inputs} />
        </div>
        <div>
          <h4>{conn ? 'Response (outputs)' : 'Outputs'}</h4>
          <Json value={x.outputs} />
        </div>
      </div>
    </section>
  );
}

interface Field {
  name: string;
  label?: string;
  type?: string;
  description?: string;
  default?: unknown;
  required?: boolean;
  options?: unknown[];
}

function normaliseFields(f: unknown): Field[] {
  if (Array.isArray(f)) return f.filter((x) => x && typeof x === 'object' && (x as any).name).map((x) => x as Field);
  if (f && typeof f === 'object') {
    return Object.entries(f as Record<string, unknown>).map(([name, v]) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) return { name, ...(v as object) } as Field;
      return { name, default: v, type: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string' };
    });
  }
  return [];
}

function MessageForm({ id, message, onAnswered }: { id: string; message: any; onAnswered: () => void }) {
  const fields = normaliseFields(message.fields);
  const [values, setValues] = useState<Record<string, unknown>>(() => Object.fromEntries(fields.map((f) => [f.name, f.default ?? (f.type === 'boolean' ? false : '')])));
  const [json, setJson] = useState('{}');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let answer: unknown;
    if (fields.length) {
      answer = {};
      for (const f of fields) {
        let v = values[f.name];
        if ((f.type === 'number' || f.type === 'integer') && v !== '') v = Number(v);
        if (f.type === 'object' || f.type === 'array' || f.type === 'json') {
          try {
            v = typeof v === 'string' && v.trim() ? JSON.parse(v) : v;
          } catch {
            setError(new Error(`Field “${f.label ?? f.name}” is not valid JSON.`));
            return;
          }
        }
        (answer as Record<string, unknown>)[f.name] = v;
      }
    } else {
      try {
        answer = JSON.parse(json);
      } catch (err) {
        setError(new Error(`The answer is not valid JSON: ${(err as Error).message}`));
        return;
      }
    }
    setBusy(true);
    try {
      await api(`/executions/${enc(id)}/messages`, { method: 'POST', body: { answer } });
      onAnswered();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="message-form" onSubmit={submit} aria-labelledby="msg-title" data-testid="message-form">
      <h2 id="msg-title">Waiting for an answer: {message.subject ?? 'message'}</h2>
      {message.body != null && message.body !== '' && <p class="prewrap">{typeof message.body === 'string' ? message.body : JSON.stringify(message.body, null, 2)}</p>}
      {typeof message.timeout === 'number' && message.timeout > 0 && <p class="muted small">Without an answer within {fmtDuration(message.timeout * 1000)} of the question, the flow gets a TimeoutExceededError.</p>}
      {fields.length > 0 ? (
        fields.map((f) => (
          <label class={f.type === 'boolean' ? 'check' : ''}>
            {f.type === 'boolean' ? (
              <input type="checkbox" checked={!!values[f.name]} onChange={(e) => setValues({ ...values, [f.name]: e.currentTarget.checked })} />
            ) : null}
            {f.label ?? f.name}
            {f.required ? ' *' : ''}
            {f.options && Array.isArray(f.options) ? (
              <select value={String(values[f.name] ?? '')} onChange={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}>
                {f.options.map((o) => (
                  <option value={String(o)}>{String(o)}</option>
                ))}
              </select>
            ) : f.type === 'boolean' ? null : (
              <input
                type={(f.type === 'number' || f.type === 'integer' ? 'number' : 'text') as 'text'}
                required={!!f.required}
                value={String(values[f.name] ?? '')}
                onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
              />
            )}
            {f.description && <span class="muted small">{f.description}</span>}
          </label>
        ))
      ) : (
        <label>
          Answer (JSON)
          <textarea class="mono" rows={4} value={json} onInput={(e) => setJson(e.currentTarget.value)} spellcheck={false} />
        </label>
      )}
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Sending…' : 'Send answer'}
      </button>
    </form>
  );
}
