import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorPosition, Execution, hasRole, isEnded, items, LogLine, roleRefusal, sleep, streamLogs } from '../api';
import { DEFAULT_SCRIPT } from '../editor/completions';
import type { EditorHandle } from '../editor/cm';
import { duration, fmtTime } from '../format';
import { href, navigate, setLeaveGuard } from '../router';
import { useChildLogs, withChildLines } from '../childlogs';
import { collect, FieldError, fieldPath, FormValues, hasFields, initialValues, Schema, SchemaFields } from '../SchemaForm';
import { ErrorBox, Json, LogView, Notice, RecordsTable, StatusBadge, StepList, Tabs, useNow } from '../ui';
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
  /** Who saved it: "user:alice", "client:admin"; absent on older revisions. */
  author?: string | null;
}

function isMac() {
  return /Mac|iPhone|iPad/.test(navigator.platform);
}

/** The editor's unsaved script of a flow, kept for the tab so that an execution page can replay with it. */
export function draftOf(flow: string): string | null {
  return sessionStorage.getItem(`flowd.draft.${flow}`);
}
function keepDraft(flow: string, script: string | null) {
  if (script === null) sessionStorage.removeItem(`flowd.draft.${flow}`);
  else sessionStorage.setItem(`flowd.draft.${flow}`, script);
}

function schemaText(v: unknown): string {
  return v && typeof v === 'object' ? JSON.stringify(v, null, 2) : '';
}

export function FlowEditorPage({ name, query }: { name: string; query?: URLSearchParams }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<EditorHandle | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [isNew, setIsNew] = useState(false);
  const [ready, setReady] = useState(false);
  const [revision, setRevision] = useState<number | undefined>();
  const [description, setDescription] = useState('');
  // Kept and sent back so that saving from the editor does not reset it to the default.
  const maxRuntime = useRef<number | undefined>(undefined);
  // What was saved last: the editor is dirty while it differs.
  const saved = useRef({ script: '', description: '', schema: '' });
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [saveMsg, setSaveMsg] = useState('');

  // The declared inputs (JSON Schema) as edited, and as saved (what the form shows).
  const [schemaEdit, setSchemaEdit] = useState('');
  const [schema, setSchema] = useState<Schema | null>(null);
  const [showSchema, setShowSchema] = useState(false);
  const [rawInputs, setRawInputs] = useState(false);
  const [formValues, setFormValues] = useState<FormValues>({});
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});

  const [inputsText, setInputsText] = useState('{}');
  const [runError, setRunError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const [exe, setExe] = useState<Execution | null>(null);
  const [steps, setSteps] = useState<Execution[]>([]);
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [resultTab, setResultTab] = useState('table');
  const stopStream = useRef<(() => void) | null>(null);
  // The script the shown execution ran, to mark its runtime error only while it is unchanged.
  const ranScript = useRef<string | null>(null);

  const [showRevs, setShowRevs] = useState(false);
  const [showChildLogs, setShowChildLogs] = useState(true);
  const childLines = useChildLogs(exe?.id, steps, showChildLogs);
  // An unsaved script this tab kept from an earlier visit (a reload, a closed editor).
  const [keptDraft, setKeptDraft] = useState<string | null>(null);

  // Latest callbacks for the editor's key bindings.
  const actions = useRef({ save: async () => false as boolean, run: () => {}, changed: () => {} });

  const applySavedSchema = (v: unknown) => {
    const sc = hasFields(v) ? v : null;
    setSchema(sc);
    setFormValues(sc ? initialValues(sc) : {});
    setFieldErrors({});
  };

  // The form follows the schema as it is edited (a draft run checks its inputs against
  // it), keeping what was typed into fields that stay.
  const editSchema = (text: string) => {
    setSchemaEdit(text);
    changed(description, text);
    if (!text.trim()) {
      setSchema(null);
      return;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return; // still being typed: the form stays as it was
    }
    const sc = hasFields(v) ? v : null;
    setSchema(sc);
    if (sc) {
      const fresh = initialValues(sc);
      setFormValues((old) => Object.fromEntries(Object.entries(fresh).map(([k, d]) => [k, k in old && typeof old[k] === typeof d ? old[k] : d])));
    }
  };

  /** The edited schema when it differs from the saved one (sent with a draft run); undefined: the saved one applies. */
  const draftSchema = (): unknown => {
    if (schemaEdit.trim() === saved.current.schema.trim()) return undefined;
    if (!schemaEdit.trim()) return {}; // no declared inputs in the draft: anything goes
    try {
      return JSON.parse(schemaEdit);
    } catch (e) {
      throw new Error(`The inputs schema is not valid JSON: ${(e as Error).message}`);
    }
  };

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
        const st = schemaText(f.inputs_schema);
        saved.current = { script, description: f.description ?? '', schema: st };
        setSchemaEdit(st);
        applySavedSchema(f.inputs_schema);
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
            setSaveMsg('');
            actions.current.changed();
          },
          onSave: () => void actions.current.save(),
          onRun: () => actions.current.run(),
        });
        setReady(true);
        // Opened from an execution's runtime error (?line=&col=&msg=): mark that line.
        const line = Number(query?.get('line'));
        if (line > 0) {
          editor.current.showError(line, Number(query?.get('col')) || 1, query?.get('msg') || 'runtime error');
          history.replaceState(null, '', href(['flows', name]));
        }
        const kept = draftOf(name);
        if (kept !== null && kept !== script) setKeptDraft(kept);
        else keepDraft(name, null);
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

  // Dirty: the script, description or schema differ from what was saved.
  const changed = (desc = description, sch = schemaEdit) => {
    const doc = editor.current?.getDoc();
    const s = saved.current;
    const scriptChanged = doc !== undefined && doc !== s.script;
    keepDraft(name, scriptChanged ? doc! : null);
    setDirty(scriptChanged || desc !== s.description || sch.trim() !== s.schema.trim());
  };

  const save = async (): Promise<boolean> => {
    if (!editor.current) return false;
    setSaveError(null);
    setSaveMsg('');
    if (!hasRole('editor')) {
      // Ctrl+S still reaches here: say why nothing is saved.
      setSaveError(new Error(roleRefusal('editor', 'save flows')));
      return false;
    }
    let inputsSchema: unknown = undefined;
    if (schemaEdit.trim()) {
      try {
        inputsSchema = JSON.parse(schemaEdit);
        if (!inputsSchema || typeof inputsSchema !== 'object' || Array.isArray(inputsSchema)) throw new Error('it must be a JSON object like {"type": "object", "properties": {…}}');
      } catch (e) {
        setShowSchema(true);
        setSaveError(new Error(`The inputs schema is not valid: ${(e as Error).message}`));
        return false;
      }
    } else if (saved.current.schema) inputsSchema = null; // removes the declared inputs
    setSaving(true);
    const script = editor.current.getDoc();
    const prevSchema = saved.current.schema;
    try {
      const res = await api<FlowSummary>(`/flows/${enc(name)}`, {
        method: 'PUT',
        body: { script, description, ...(maxRuntime.current ? { max_runtime: maxRuntime.current } : {}), ...(inputsSchema !== undefined ? { inputs_schema: inputsSchema } : {}) },
      });
      editor.current.clearErrors();
      setRevision(res?.revision);
      const st = inputsSchema ? schemaText(res?.inputs_schema ?? inputsSchema) : '';
      saved.current = { script, description, schema: st };
      setSchemaEdit(st);
      if (st !== prevSchema) setSchema(hasFields(inputsSchema) ? inputsSchema : null); // the form follows the edit already
      keepDraft(name, null);
      changed(description, st);
      setIsNew(false);
      setSaveMsg(res?.revision !== undefined ? `Saved revision ${res.revision}.` : 'Saved.');
      return true;
    } catch (e) {
      setSaveError(e);
      if (e instanceof ApiError && e.message.startsWith('inputs_schema')) setShowSchema(true);
      else if (e instanceof ApiError && (e.code === 'invalid_script' || e.line)) editor.current.showError(e.line, e.column, e.message);
      return false;
    } finally {
      setSaving(false);
    }
  };

  const readInputs = (): Record<string, unknown> | null => {
    setFieldErrors({});
    if (schema && !rawInputs) {
      try {
        return collect(schema, formValues);
      } catch (e) {
        if (e instanceof FieldError) setFieldErrors({ [e.field]: e.message });
        else setRunError(e);
        return null;
      }
    }
    try {
      const v = inputsText.trim() ? JSON.parse(inputsText) : {};
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('Inputs must be a JSON object.');
      return v;
    } catch (e) {
      setRunError(new Error(`Inputs are not valid JSON: ${(e as Error).message}`));
      return null;
    }
  };

  // Shows a started execution in the test-run pane: its log, its steps and their tries, live.
  const follow = (started: Execution, script: string) => {
    stopStream.current?.();
    ranScript.current = script;
    setExe(started);
    setSteps([]);
    setLogs([]);
    setRunning(true);
    let ended = false;
    const ctrl = new AbortController();
    const pollSteps = async () => {
      while (!ctrl.signal.aborted) {
        try {
          setSteps(items<Execution>(await api(`/executions/${enc(started.id)}/children`, { signal: ctrl.signal })));
        } catch {
          // The steps are a convenience; the log and status still show.
        }
        if (ended) return;
        await sleep(1000, ctrl.signal).catch(() => undefined);
      }
    };
    pollSteps();
    const stop = streamLogs(started.id, {
      onLog: (l) => setLogs((ls) => [...ls, l]),
      onStatus: (x) => setExe(x),
      onEnd: async (x) => {
        ended = true;
        if (x) setExe(x);
        setRunning(false);
        try {
          const last = await api<Execution>(`/executions/${enc(started.id)}`);
          setExe(last);
          markRuntimeError(last);
        } catch (e) {
          if (!x) setRunError(e);
        }
      },
      onError: (e) => setRunError(e),
    });
    stopStream.current = () => {
      ctrl.abort();
      stop();
    };
  };

  const markRuntimeError = (x: Execution) => {
    if (x.status !== 'ENDED_ERROR' || !editor.current) return;
    const at = errorPosition(x.status_message, name);
    if (at && editor.current.getDoc() === ranScript.current) editor.current.showError(at.line, at.column, x.status_message ?? 'runtime error');
  };

  const showRunError = (e: unknown) => {
    const err = e instanceof ApiError ? ((e.body as any)?.error ?? {}) : {};
    if (e instanceof ApiError && e.code === 'invalid_inputs') {
      const p = schema && !rawInputs ? fieldPath(schema, err.field) : null;
      if (p) {
        setFieldErrors({ [p]: e.message });
        document.getElementById(`in-${p.replace(/[^A-Za-z0-9_-]/g, '_')}`)?.focus();
        return;
      }
    }
    setRunError(e);
  };

  // Run: the editor's script as a draft, without saving a revision.
  const run = async () => {
    if (running && exe && !isEnded(exe.status)) return;
    setRunError(null);
    if (!hasRole('editor')) {
      setRunError(new Error(roleRefusal('editor', 'run drafts of a flow')));
      return;
    }
    const inputs = readInputs();
    if (!inputs) return;
    if (isNew) {
      // A draft runs under an existing flow: the first save creates it.
      if (!(await save())) {
        setRunError(new Error('Fix the script first: the new flow could not be saved.'));
        return;
      }
    }
    editor.current?.clearErrors();
    const script = editor.current?.getDoc() ?? '';
    try {
      const inputsSchema = draftSchema();
      follow(await api<Execution>(`/flows/${enc(name)}/draft-runs`, { method: 'POST', body: { script, inputs, ...(inputsSchema !== undefined ? { inputs_schema: inputsSchema } : {}) } }), script);
    } catch (e) {
      showRunError(e);
      setRunning(false);
    }
  };

  // Replay: the editor's script against the responses the shown execution recorded.
  const replay = async () => {
    if (!exe) return;
    setRunError(null);
    editor.current?.clearErrors();
    const script = editor.current?.getDoc() ?? '';
    try {
      follow(await api<Execution>(`/executions/${enc(exe.id)}/replay`, { method: 'POST', body: { script } }), script);
    } catch (e) {
      showRunError(e);
      setRunning(false);
    }
  };

  actions.current = { save, run, changed: () => changed() };

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

  // Unsaved edits: asked before closing the tab and before leaving the page.
  useEffect(() => {
    if (!dirty) return;
    const on = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', on);
    const unguard = setLeaveGuard(() => confirm(`Flow “${name}” has unsaved changes. Leave without saving them?`));
    return () => {
      window.removeEventListener('beforeunload', on);
      unguard();
    };
  }, [dirty, name]);

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
      keepDraft(name, null);
      setDirty(false);
      saved.current = { script: editor.current?.getDoc() ?? '', description, schema: schemaEdit };
      setLeaveGuard(() => true)(); // drops the unsaved-edits guard: the flow is gone
      navigate('#/flows');
    } catch (err) {
      setSaveError(err);
    }
  };

  const out = exe?.outputs;
  const live = !!exe && !isEnded(exe.status);
  const now = useNow(live);
  const mod = isMac() ? '⌘' : 'Ctrl';
  const canEdit = hasRole('editor');

  return (
    <section class="editor-page" aria-labelledby="flow-title">
      <div class="page-head">
        <h1 id="flow-title">
          <a href="#/flows">Flows</a> / {name}
        </h1>
        <span class="muted" data-testid="revision">
          {isNew ? 'new flow (not saved yet)' : revision !== undefined ? `revision ${revision}` : ''}
          {dirty ? ' • unsaved changes' : ''}
        </span>
        <div class="spacer" />
        {canEdit && (
          <button onClick={() => save()} disabled={!ready || saving} title={`${mod}+S`} data-testid="save">
            {saving ? 'Saving…' : 'Save'} <kbd>{mod}+S</kbd>
          </button>
        )}
        <button class="secondary" onClick={() => setShowRevs((s) => !s)} aria-expanded={showRevs} disabled={isNew}>
          History
        </button>
        <a class="button secondary" href={href(['executions'], { flow: name })}>
          Executions
        </a>
        {canEdit && (
          <>
            <button class="secondary" onClick={() => setRenameTo(renameTo === null ? name : null)} aria-expanded={renameTo !== null} disabled={isNew}>
              Rename
            </button>
            <button class="danger" onClick={doDelete} disabled={isNew}>
              Delete
            </button>
          </>
        )}
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
            changed(e.currentTarget.value);
          }}
          placeholder="What this flow does"
        />
      </label>
      {keptDraft !== null && (
        <Notice kind="warn">
          <span data-testid="kept-draft">This tab kept an unsaved version of the script from before.</span>{' '}
          <button
            class="secondary"
            onClick={() => {
              editor.current?.setDoc(keptDraft);
              setKeptDraft(null);
            }}
          >
            Restore it
          </button>{' '}
          <button
            class="secondary"
            onClick={() => {
              keepDraft(name, null);
              setKeptDraft(null);
            }}
          >
            Discard it
          </button>
        </Notice>
      )}
      {saveMsg && <Notice kind="ok">{saveMsg}</Notice>}
      <ErrorBox error={saveError} onClose={() => setSaveError(null)} />
      <div class="editor-host" ref={host} data-testid="editor">
        {!ready && !loadError && <p class="muted pad">Loading editor…</p>}
      </div>
      <p class="muted small">
        Completion: type <code>this.</code>, <code>system.</code> or inside <code>this.connect({'{'} … {'}'})</code>; <kbd>Ctrl+Space</kbd> opens it. <kbd>{mod}+S</kbd> saves a new revision; <kbd>Ctrl+Enter</kbd> runs the
        script as it is in the editor (a draft run: nothing is saved).
      </p>
      <details class="schema-box" open={showSchema} onToggle={(e) => setShowSchema((e.currentTarget as HTMLDetailsElement).open)}>
        <summary>Declared inputs (JSON Schema){saved.current.schema ? '' : ': none'}</summary>
        <p class="muted small">
          Every trigger checks its inputs against this schema and fills in defaults; the test run below shows a form for it and checks its inputs against it as edited. Saved with the script. Example:{' '}
          <code>{'{"type": "object", "properties": {"who": {"type": "string", "default": "world"}}, "required": ["who"]}'}</code>
        </p>
        <label for="inputs-schema" class="sr-only">
          Inputs schema (JSON)
        </label>
        <textarea
          id="inputs-schema"
          class="mono"
          rows={8}
          spellcheck={false}
          value={schemaEdit}
          placeholder="No declared inputs: leave empty"
          onInput={(e) => editSchema(e.currentTarget.value)}
        />
      </details>
      {showRevs && editor.current && <Revisions name={name} current={() => editor.current!.getDoc()} onLoad={(s) => editor.current!.setDoc(s)} />}

      <section class="testrun" aria-labelledby="testrun-title">
        <h2 id="testrun-title">Test run</h2>
        <form
          class="testrun-grid"
          aria-label="Inputs of the test run"
          onSubmit={(e) => {
            e.preventDefault();
            run();
          }}
        >
          {schema && !rawInputs ? (
            <div class="fields" data-testid="inputs-form">
              <SchemaFields schema={schema} values={formValues} onChange={setFormValues} errors={fieldErrors} />
            </div>
          ) : (
            <div>
              <label for="run-inputs">Inputs (JSON)</label>
              <textarea id="run-inputs" class="mono" rows={5} value={inputsText} onInput={(e) => setInputsText(e.currentTarget.value)} spellcheck={false} />
            </div>
          )}
          {schema && (
            <label class="check small">
              <input
                type="checkbox"
                checked={rawInputs}
                onChange={(e) => {
                  const raw = e.currentTarget.checked;
                  if (raw) {
                    try {
                      setInputsText(JSON.stringify(collect(schema, formValues), null, 2));
                    } catch {
                      // keep the last JSON text
                    }
                  }
                  setRawInputs(raw);
                }}
              />
              Edit the inputs as JSON
            </label>
          )}
          <div class="row">
            {canEdit ? (
              <button type="submit" disabled={!ready || (running && live)} data-testid="run" title="Runs the editor's script without saving it">
                {running && live ? 'Running…' : 'Run'} <kbd>Ctrl+Enter</kbd>
              </button>
            ) : (
              <span class="muted" data-testid="read-only">
                Read only: your role cannot save or run drafts (the editor role can).
              </span>
            )}
            {canEdit && exe && isEnded(exe.status) && exe.type === 'FLOW' && (
              <button type="button" class="secondary" onClick={replay} data-testid="replay-draft" title="Runs the editor's script against the responses this execution recorded, calling no service">
                Replay with this script
              </button>
            )}
            {exe && (
              <>
                <StatusBadge status={exe.status} />
                {exe.trigger && <span class="badge muted">{exe.trigger}</span>}
                <a href={href(['executions', exe.id])} data-testid="execution-link">
                  Open execution {exe.id.slice(0, 12)}
                </a>
                <span class="muted" data-testid="run-duration">
                  {duration(exe.started_at ?? exe.created_at, exe.ended_at, now)}
                </span>
              </>
            )}
          </div>
          {exe?.status_message && (
            <p class={exe.status === 'ENDED_ERROR' ? 'error' : 'muted'} data-testid="run-status-message">
              {exe.status_message}
            </p>
          )}
          <ErrorBox error={runError} onClose={() => setRunError(null)} />
        </form>
        <StepList steps={steps} now={now} />
        <div class="row">
          <h3>Logs</h3>
          <label class="check small">
            <input type="checkbox" checked={showChildLogs} onChange={(e) => setShowChildLogs(e.currentTarget.checked)} /> Show the log lines of child flows
          </label>
        </div>
        <LogView lines={withChildLines(logs, childLines)} live={live} emptyText={exe ? 'No log lines.' : 'Run the flow to see its log here.'} />
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
                  {r.author && (
                    <span class="muted small author" data-testid="revision-author">
                      {' '}
                      by {r.author}
                    </span>
                  )}
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
