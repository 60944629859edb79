import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, Execution, isEnded, items, LogLine, streamLogs } from '../api';
import { DEFAULT_SCRIPT } from '../editor/completions';
import type { EditorHandle } from '../editor/cm';
import { duration, fmtTime } from '../format';
import { href, navigate } from '../router';
import { ErrorBox, Json, LogView, Notice, RecordsTable, StatusBadge, Tabs } from '../ui';
import { enc, FlowSummary, renameFlow } from './Flows';

type CM = typeof import('../editor/cm');
let cmPromise: Promise<CM> | null = null;
export function loadCM(): Promise<CM> {
  if (!cmPromise) cmPromise = import('../editor/cm');
  cmPromise.catch(() => (cmPromise = null));
  return cmPromise;
}

interface Revision {
  revision: number;
  script: string;
  created_at?: string;
  description?: string;
}

function isMac() {
  return /Mac|iPhone|iPad/.test(navigator.platform);
}

export function FlowEditorPage({ name }: { name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [isNew, setIsNew] = useState(false);
  const [ready, setReady] = useState(false);
  const [revision, setRevision] = useState<number | undefined>();
  const [description, setDescription] = useState('');
  // Kept and sent back so that saving from the editor does not reset it to the default.
  const maxRuntime = useRef<number | undefined>(undefined);
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saveMsg, setSaveMsg] = useState('');

  const [inputsText, setInputsText] = useState('{}');
  const [runError, setRunError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [exe, setExe] = useState<Execution | null>(null);
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [resultTab, setResultTab] = useState('table');
  const stopStream = useRef<(() => void) | null>(null);

  const [showRevs, setShowRevs] = useState(false);

  // Latest callbacks for the editor's key bindings.
  const actions = useRef({ save: async () => false as boolean, run: () => {} });

  useEffect(() => {
    let cancelled = false;
    (async () => {
      let script = DEFAULT_SCRIPT;
      try {
        const f = await api<FlowSummary>(`/flows/${enc(name)}`);
        script = f.script ?? '';
        setRevision(f.revision);
        setDescription(f.description ?? '');
        maxRuntime.current = typeof f.max_runtime === 'number' && f.max_runtime > 0 ? f.max_runtime : undefined;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) setIsNew(true);
        else {
          setLoadError(e);
          return;
        }
      }
      try {
        const cm = await loadCM();
        if (cancelled || !host.current) return;
        editor.current = cm.createEditor(host.current, {
          doc: script,
          label: `Script of flow ${name}`,
          onChange: () => {
            setDirty(true);
            setSaveMsg('');
          },
          onSave: () => void actions.current.save(),
          onRun: () => actions.current.run(),
        });
        setReady(true);
      } catch (e) {
        setLoadError(new Error(`Could not load the editor: ${(e as Error).message}`));
      }
    })();
    return () => {
      cancelled = true;
      editor.current?.destroy();
      editor.current = null;
      stopStream.current?.();
    };
  }, [name]);

  const save = async (): Promise<boolean> => {
    if (!editor.current) return false;
    setSaving(true);
    setSaveError(null);
    setSaveMsg('');
    try {
      const res = await api<FlowSummary>(`/flows/${enc(name)}`, { method: 'PUT', body: { script: editor.current.getDoc(), description, ...(maxRuntime.current ? { max_runtime: maxRuntime.current } : {}) } });
      editor.current.clearErrors();
      setRevision(res?.revision);
      setDirty(false);
      setIsNew(false);
      setSaveMsg(res?.revision !== undefined ? `Saved revision ${res.revision}.` : 'Saved.');
      return true;
    } catch (e) {
      setSaveError(e);
      if (e instanceof ApiError && (e.status === 422 || e.line)) {
        editor.current.showError(e.line, e.column, e.message);
      }
      return false;
    } finally {
      setSaving(false);
    }
  };

  const run = async () => {
    if (running && exe && !isEnded(exe.status)) return;
    setRunError(null);
    let inputs: unknown;
    try {
      inputs = inputsText.trim() ? JSON.parse(inputsText) : {};
      if (!inputs || typeof inputs !== 'object' || Array.isArray(inputs)) throw new Error('Inputs must be a JSON object.');
    } catch (e) {
      setRunError(new Error(`Inputs are not valid JSON: ${(e as Error).message}`));
      return;
    }
    if (dirty || isNew) {
      const ok = await save();
      if (!ok) {
        setRunError(new Error('Fix the script first: it could not be saved.'));
        return;
      }
    }
    stopStream.current?.();
    setRunning(true);
    setLogs([]);
    setExe(null);
    try {
      const started = await api<Execution>(`/flows/${enc(name)}/executions`, { method: 'POST', body: { inputs } });
      setExe(started);
      stopStream.current = streamLogs(started.id, {
        onLog: (l) => setLogs((ls) => [...ls, l]),
        onStatus: (x) => setExe(x),
        onEnd: async (x) => {
          if (x) setExe(x);
          setRunning(false);
          try {
            setExe(await api<Execution>(`/executions/${enc(started.id)}`));
          } catch (e) {
            if (!x) setRunError(e);
          }
        },
        onError: (e) => setRunError(e),
      });
    } catch (e) {
      setRunError(e);
      setRunning(false);
    }
  };

  actions.current = { save, run };

  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      // The editor's own key bindings handle (and preventDefault) these when it has focus.
      if (e.defaultPrevented) return;
      const mod = isMac() ? e.metaKey : e.ctrlKey;
      if (mod && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void actions.current.save();
      } else if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
        e.preventDefault();
        actions.current.run();
      }
    };
    window.addEventListener('keydown', on);
    return () => window.removeEventListener('keydown', on);
  }, []);

  useEffect(() => {
    if (!dirty) return;
    const on = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', on);
    return () => window.removeEventListener('beforeunload', on);
  }, [dirty]);

  const [renameTo, setRenameTo] = useState<string | null>(null);
  const doRename = async (e: Event) => {
    e.preventDefault();
    setSaveError(null);
    try {
      if (dirty && !(await save())) return;
      const names = items<FlowSummary>(await api('/flows')).map((f) => f.name);
      await renameFlow(name, (renameTo ?? '').trim(), names);
      navigate(href(['flows', (renameTo ?? '').trim()]));
    } catch (err) {
      setSaveError(err);
    }
  };
  const doDelete = async () => {
    if (!confirm(`Delete flow “${name}”? Its executions stay.`)) return;
    try {
      await api(`/flows/${enc(name)}`, { method: 'DELETE' });
      navigate('#/flows');
    } catch (err) {
      setSaveError(err);
    }
  };

  const out = exe?.outputs;
  const live = !!exe && !isEnded(exe.status);
  const mod = isMac() ? '⌘' : 'Ctrl';

  return (
    <section class="editor-page" aria-labelledby="flow-title">
      <div class="page-head">
        <h1 id="flow-title">
          <a href="#/flows">Flows</a> / {name}
        </h1>
        <span class="muted">
          {isNew ? 'new flow (not saved yet)' : revision !== undefined ? `revision ${revision}` : ''}
          {dirty ? ' • unsaved changes' : ''}
        </span>
        <div class="spacer" />
        <button onClick={() => save()} disabled={!ready || saving} title={`${mod}+S`} data-testid="save">
          {saving ? 'Saving…' : 'Save'} <kbd>{mod}+S</kbd>
        </button>
        <button class="secondary" onClick={() => setShowRevs((s) => !s)} aria-expanded={showRevs} disabled={isNew}>
          History
        </button>
        <a class="button secondary" href={href(['executions'], { flow: name })}>
          Executions
        </a>
        <button class="secondary" onClick={() => setRenameTo(renameTo === null ? name : null)} aria-expanded={renameTo !== null} disabled={isNew}>
          Rename
        </button>
        <button class="danger" onClick={doDelete} disabled={isNew}>
          Delete
        </button>
      </div>
      {renameTo !== null && (
        <form class="inline" onSubmit={doRename} aria-label="Rename flow">
          <label>
            New name
            <input value={renameTo} onInput={(e) => setRenameTo(e.currentTarget.value)} autoFocus />
          </label>
          <button type="submit">Rename</button>
          <button type="button" class="secondary" onClick={() => setRenameTo(null)}>
            Cancel
          </button>
          <span class="muted small">Saves the script under the new name, then deletes the old flow (its revision history stays with the old name).</span>
        </form>
      )}
      <ErrorBox error={loadError} />
      <label class="desc">
        Description
        <input
          value={description}
          onInput={(e) => {
            setDescription(e.currentTarget.value);
            setDirty(true);
          }}
          placeholder="What this flow does"
        />
      </label>
      {saveMsg && <Notice kind="ok">{saveMsg}</Notice>}
      <ErrorBox error={saveError} onClose={() => setSaveError(null)} />
      <div class="editor-host" ref={host} data-testid="editor">
        {!ready && !loadError && <p class="muted pad">Loading editor…</p>}
      </div>
      <p class="muted small">
        Completion: type <code>this.</code>, <code>system.</code> or inside <code>this.connect({'{'} … {'}'})</code>; <kbd>Ctrl+Space</kbd> opens it. <kbd>{mod}+S</kbd> saves, <kbd>Ctrl+Enter</kbd> saves and runs.
      </p>
      {showRevs && editor.current && <Revisions name={name} current={() => editor.current!.getDoc()} onLoad={(s) => editor.current!.setDoc(s)} />}

      <section class="testrun" aria-labelledby="testrun-title">
        <h2 id="testrun-title">Test run</h2>
        <div class="testrun-grid">
          <div>
            <label for="run-inputs">Inputs (JSON)</label>
            <textarea id="run-inputs" class="mono" rows={5} value={inputsText} onInput={(e) => setInputsText(e.currentTarget.value)} spellcheck={false} />
            <div class="row">
              <button onClick={() => run()} disabled={!ready || (running && live)} data-testid="run">
                {running && live ? 'Running…' : 'Run'} <kbd>Ctrl+Enter</kbd>
              </button>
              {exe && (
                <>
                  <StatusBadge status={exe.status} />
                  <a href={href(['executions', exe.id])} data-testid="execution-link">
                    Open execution {exe.id.slice(0, 12)}
                  </a>
                  <span class="muted">{duration(exe.started_at ?? exe.created_at, exe.ended_at)}</span>
                </>
              )}
            </div>
            {exe?.status_message && <p class={exe.status === 'ENDED_ERROR' ? 'error' : 'muted'}>{exe.status_message}</p>}
            <ErrorBox error={runError} onClose={() => setRunError(null)} />
          </div>
        </div>
        <h3>Logs</h3>
        <LogView lines={logs} live={live} emptyText={exe ? 'No log lines.' : 'Run the flow to see its log here.'} />
        <h3>Result</h3>
        {exe && isEnded(exe.status) ? (
          <>
            <Tabs
              label="Result view"
              tabs={[
                ['table', 'Table'],
                ['json', 'JSON'],
              ]}
              value={resultTab}
              onChange={setResultTab}
            />
            {resultTab === 'json' ? <Json value={out} label="Result as JSON" /> : <RecordsTable output={out} />}
          </>
        ) : (
          <p class="muted">{exe ? 'The result appears when the execution ends.' : 'No run yet.'}</p>
        )}
        {exe && <p class="muted small">Started {fmtTime(exe.started_at ?? exe.created_at)}</p>}
      </section>
    </section>
  );
}

function Revisions({ name, current, onLoad }: { name: string; current: () => string; onLoad: (s: string) => void }) {
  const [revs, setRevs] = useState<Revision[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sel, setSel] = useState<Revision | null>(null);
  const diffHost = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api(`/flows/${enc(name)}/revisions`)
      .then((b) => {
        const list = items<Revision>(b).sort((a, b) => b.revision - a.revision);
        setRevs(list);
        if (list.length) setSel(list.length > 1 ? list[1] : list[0]);
      })
      .catch(setError);
  }, [name]);

  useEffect(() => {
    if (!sel || !diffHost.current) return;
    let d: { destroy(): void } | null = null;
    let gone = false;
    loadCM().then(
      (cm) => {
        if (gone || !diffHost.current) return;
        diffHost.current.innerHTML = '';
        d = cm.createDiff(diffHost.current, sel.script ?? '', current());
      },
      setError,
    );
    return () => {
      gone = true;
      d?.destroy();
    };
  }, [sel]);

  return (
    <section class="revisions" aria-labelledby="revs-title">
      <h2 id="revs-title">Revision history</h2>
      <ErrorBox error={error} />
      {!revs && !error && <p class="muted">Loading…</p>}
      {revs && revs.length === 0 && <p class="muted">No revisions.</p>}
      {revs && revs.length > 0 && (
        <div class="revs-grid">
          <ul class="rev-list" aria-label="Revisions">
            {revs.map((r) => (
              <li>
                <button class={sel?.revision === r.revision ? 'active link' : 'link'} aria-pressed={sel?.revision === r.revision} onClick={() => setSel(r)}>
                  Revision {r.revision}
                  <span class="muted small"> {fmtTime(r.created_at)}</span>
                </button>
              </li>
            ))}
          </ul>
          <div>
            {sel && (
              <div class="row">
                <span>
                  Left: revision {sel.revision}. Right: the editor's current script.
                </span>
                <button class="secondary" onClick={() => onLoad(sel.script ?? '')}>
                  Load revision {sel.revision} into the editor
                </button>
              </div>
            )}
            <div class="diff-host" ref={diffHost} />
          </div>
        </div>
      )}
    </section>
  );
}
