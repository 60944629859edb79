// The log lines of a run's child flows, shown inline in the parent's log.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, Execution, isEnded, items, LogLine } from './api';
import type { ShownLine } from './ui';

/**
 * Reads the log lines of the FLOW executions among `kids` of the execution `run` (at most 50), labelled
 * with the child; those still running are read again every 1.5 s, and all of them
 * once more when their status changes (the caller refreshes `kids` while the run goes
 * on). Returns [] while `on` is false.
 */
export function useChildLogs(run: string | undefined, kids: Execution[], on: boolean): ShownLine[] {
  const [lines, setLines] = useState<ShownLine[]>([]);
  // Per child: the last seq read, and whether it had ended then (nothing more to read).
  const seen = useRef(new Map<string, { after: number; ended: boolean }>());
  // Another run (the editor shows one after the other): start over.
  useEffect(() => {
    seen.current.clear();
    setLines([]);
  }, [run]);
  const flows = kids.filter((x) => x.type === 'FLOW').slice(0, 50);
  const key = flows.map((x) => `${x.id}:${x.status}`).join(',');
  useEffect(() => {
    if (!on || !flows.length) return;
    const ctrl = new AbortController();
    let busy = false;
    const read = async () => {
      if (busy) return;
      busy = true;
      for (const k of flows) {
        const st = seen.current.get(k.id) ?? { after: 0, ended: false };
        if (st.ended) continue;
        const ended = isEnded(k.status);
        try {
          let after = st.after;
          const got: LogLine[] = [];
          for (let page = 0; page < 20; page++) {
            const list = items<LogLine>(await api(`/executions/${encodeURIComponent(k.id)}/logs`, { query: { after: after || undefined }, signal: ctrl.signal })).filter((l) => l.seq > after);
            if (!list.length) break;
            got.push(...list);
            after = list[list.length - 1].seq;
          }
          if (ctrl.signal.aborted) return;
          seen.current.set(k.id, { after, ended });
          if (got.length) setLines((ls) => [...ls, ...got.map((l) => ({ ...l, from: k.name, fromId: k.id }))]);
        } catch {
          // A child's log is extra: the parent's own log still shows.
        }
      }
      busy = false;
    };
    read();
    // A running child logs on without changing its status: read it again every 1.5 s.
    const t = flows.some((k) => !isEnded(k.status)) ? setInterval(read, 1500) : undefined;
    return () => {
      ctrl.abort();
      clearInterval(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run, key, on]);
  return on ? lines : [];
}

/** The parent's lines and its children's, in time order (the parent's first at equal times). */
export function withChildLines(own: ShownLine[], children: ShownLine[]): ShownLine[] {
  if (!children.length) return own;
  return [...own, ...children].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
}
