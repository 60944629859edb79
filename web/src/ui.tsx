import { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText, Execution, isEnded, Status, tryText } from './api';
import { duration, pretty } from './format';

export function ErrorBox({ error, onClose }: { error: unknown; onClose?: () => void }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <span>{errorText(error)}</span>
      {onClose && (
        <button class="link" onClick={onClose} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}

export function Notice({ children, kind = 'info' }: { children: ComponentChildren; kind?: 'info' | 'ok' | 'warn' }) {
  return (
    <div class={`notice ${kind}`} role="status">
      {children}
    </div>
  );
}

export function StatusBadge({ status }: { status: Status | string | undefined }) {
  const s = status ?? 'UNKNOWN';
  const cls = s === 'ENDED_SUCCESS' ? 'ok' : s === 'ENDED_ERROR' ? 'bad' : s === 'ENDED_CANCELLED' ? 'muted' : 'live';
  return (
    <span class={`badge ${cls}`} data-status={s}>
      {s}
    </span>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {value === undefined ? '—' : pretty(value)}
    </pre>
  );
}

/** Finds the list of records in an output: the output itself or its first array-valued key. */
export function findRecords(out: unknown): { path: string; list: unknown[] } | null {
  if (Array.isArray(out)) return { path: '', list: out };
  if (out && typeof out === 'object') {
    for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
      if (Array.isArray(v)) return { path: k, list: v };
    }
    for (const [k, v] of Object.entries(out as Record<string, unknown>)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        const inner = findRecords(v);
        if (inner) return { path: `${k}${inner.path ? '.' + inner.path : ''}`, list: inner.list };
      }
    }
  }
  return null;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** The first `max` records of a list as a table (Peak's "TABULAR" preview). */
export function RecordsTable({ output, max = 10 }: { output: unknown; max?: number }) {
  const found = findRecords(output);
  let rows: Record<string, unknown>[];
  let caption: string;
  if (found) {
    const first = found.list.slice(0, max);
    rows = first.map((r) => (r && typeof r === 'object' && !Array.isArray(r) ? (r as Record<string, unknown>) : { value: r }));
    caption = `${found.path ? `“${found.path}”: ` : ''}first ${first.length} of ${found.list.length} record${found.list.length === 1 ? '' : 's'}`;
  } else if (output && typeof output === 'object') {
    rows = [output as Record<string, unknown>];
    caption = 'The output holds no list; shown as one record';
  } else {
    return <p class="muted">No output.</p>;
  }
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  return (
    <div class="table-wrap">
      <table class="records" data-testid="records-table">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            {cols.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr>
              <td>{i + 1}</td>
              {cols.map((c) => (
                <td>{cell(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Loads data with a reloadable async function; keeps the last error. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const gen = useRef(0);
  const reload = useCallback(() => {
    const g = ++gen.current;
    setLoading(true);
    return fn().then(
      (d) => {
        if (g !== gen.current) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (g !== gen.current) return;
        setError(e);
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  return { data, error, loading, reload, setData, setError };
}

export function Tabs({ tabs, value, onChange, label }: { tabs: [string, string][]; value: string; onChange: (v: string) => void; label: string }) {
  return (
    <div
      class="tabs"
      role="tablist"
      aria-label={label}
      onKeyDown={(e) => {
        // Arrow keys move between tabs, as the WAI-ARIA tabs pattern expects.
        if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
        const i = tabs.findIndex(([id]) => id === value);
        const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length][0];
        onChange(next);
        const el = (e.currentTarget as HTMLElement).querySelector<HTMLButtonElement>(`[data-tab="${next}"]`);
        setTimeout(() => el?.focus());
        e.preventDefault();
      }}
    >
      {tabs.map(([id, text]) => (
        <button role="tab" type="button" data-tab={id} aria-selected={value === id} tabIndex={value === id ? 0 : -1} class={value === id ? 'active' : ''} onClick={() => onChange(id)}>
          {text}
        </button>
      ))}
    </div>
  );
}

/** The current time, ticking every `ms` while `active`: running durations count up. */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

/** A log line; `from` names the child execution it came from (shown inline in the parent's log). */
export interface ShownLine {
  seq: number;
  ts: string;
  level: string;
  message: string;
  from?: string;
  fromId?: string;
}

export function LogView({ lines, live, emptyText = 'No log lines yet.' }: { lines: ShownLine[]; live?: boolean; emptyText?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines.length]);
  return (
    <div
      class="log"
      ref={ref}
      tabIndex={0}
      role="log"
      aria-live="polite"
      aria-label="Execution log"
      data-testid="log"
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 30;
      }}
    >
      {lines.length === 0 && <div class="muted">{live ? 'Waiting for log lines…' : emptyText}</div>}
      {lines.map((l) => (
        <div class={`logline lvl-${(l.level || 'info').toLowerCase()}${l.from ? ' child' : ''}`} data-seq={l.from ? undefined : l.seq} data-from={l.from}>
          <span class="ts">{shortTs(l.ts)}</span>
          <span class="lvl">{(l.level || '').toUpperCase()}</span>
          {l.from && (
            <a class="from" href={`#/executions/${encodeURIComponent(l.fromId ?? '')}`} title={`Logged by the child execution ${l.from}`}>
              [{l.from}]
            </a>
          )}
          <span class="msg">{l.message}</span>
        </div>
      ))}
      {live && lines.length > 0 && <div class="muted live-dot">streaming…</div>}
    </div>
  );
}

function shortTs(ts: string): string {
  const d = new Date(ts);
  if (isNaN(d.getTime())) return ts ?? '';
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** The live try line of a connection ("try 3 failed: connection refused; next in 4 s"), or nothing. */
export function TryLine({ exe }: { exe: Execution }) {
  if (exe.type !== 'CONNECTION') return null;
  const t = tryText(exe);
  if (!t) return null;
  return (
    <span class={`tries ${isEnded(exe.status) ? '' : 'live'}`} data-testid="try-line">
      {t}
    </span>
  );
}

/** The children of a run (connections, child flows) with their status, running time and tries. */
export function StepList({ steps, now }: { steps: Execution[]; now: number }) {
  if (!steps.length) return null;
  return (
    <ol class="steps" aria-label="Steps of this run" data-testid="steps">
      {steps.map((x) => (
        <li>
          <span class={`type type-${x.type.toLowerCase()}`}>{x.type}</span> <a class="mono" href={`#/executions/${encodeURIComponent(x.id)}`}>{x.name}</a> <StatusBadge status={x.status} />{' '}
          <span class="muted">{duration(x.started_at ?? x.created_at, x.ended_at, now)}</span> <TryLine exe={x} />
        </li>
      ))}
    </ol>
  );
}
