// CodeMirror 6 setup: loaded lazily (its own chunk) by the flow editor.
import { basicSetup } from 'codemirror';
import { EditorView, keymap } from '@codemirror/view';
import { EditorState, Prec } from '@codemirror/state';
import { javascript, javascriptLanguage } from '@codemirror/lang-javascript';
import { Completion, CompletionContext, CompletionResult, snippet } from '@codemirror/autocomplete';
import { Diagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { indentWithTab } from '@codemirror/commands';
import { MergeView } from '@codemirror/merge';
import { childMembers, enumValues, fileMembers, getFields, grantMembers, Item, restInputs, secretMembers, settingMembers, systemMembers, thisMembers } from './completions';

function toCompletion(i: Item, boost = 0): Completion {
  return {
    label: i.label,
    detail: i.detail,
    info: i.info,
    type: i.type,
    boost,
    apply: i.apply ? (i.snippet ? snippet(i.apply) : i.apply) : undefined,
  };
}

const restCompletions: Completion[] = restInputs.map((r) => ({
  label: r.name,
  type: 'property',
  detail: r.def ? `default: ${r.def}` : undefined,
  info: r.def ? `${r.info}\n\nDefault: ${r.def}` : r.info,
  apply: snippet(`${r.name}: ${r.value ?? '${}'}`),
  boost: r.name === 'url' || r.name === 'connector_type' ? 2 : 0,
}));

/** Is `pos` directly inside the object literal passed to this.connect(…)? */
function inConnectObject(text: string): boolean {
  const at = text.lastIndexOf('this.connect(');
  if (at < 0) return false;
  let paren = 0;
  let brace = 0;
  let quote = '';
  for (let i = at + 'this.connect'.length; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') paren++;
    else if (c === ')') paren--;
    else if (c === '{') brace++;
    else if (c === '}') brace--;
    if (paren <= 0 && i > at + 'this.connect'.length) return false;
  }
  return paren === 1 && brace === 1 && !quote;
}

export function flowCompletions(ctx: CompletionContext): CompletionResult | null {
  const line = ctx.state.doc.lineAt(ctx.pos);
  const before = line.text.slice(0, ctx.pos - line.from);
  let m: RegExpExecArray | null;

  if ((m = /\.get\(\s*['"](\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: getFields.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /system\s*\.\s*setting\([^()]*\)\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: settingMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /system\s*\.\s*file\([^()]*\)\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: fileMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /system\s*\.\s*secret\([^()]*\)\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: secretMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /system\s*\.\s*grant\([^()]*\)\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: grantMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /\bthis\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: thisMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }
  if ((m = /\bsystem\s*\.\s*(\w*)$/.exec(before))) {
    return { from: ctx.pos - m[1].length, options: systemMembers.map((i) => toCompletion(i)), validFor: /^\w*$/ };
  }

  const docBefore = ctx.state.sliceDoc(Math.max(0, ctx.pos - 5000), ctx.pos);
  if (inConnectObject(docBefore)) {
    // A value with known choices: `method: 'GE|`
    if ((m = /(\w+)\s*:\s*(['"])(\w*)$/.exec(before)) && enumValues[m[1]]) {
      return {
        from: ctx.pos - m[3].length,
        options: enumValues[m[1]].map((v) => ({ label: v, type: 'enum' })),
        validFor: /^\w*$/,
      };
    }
    // A property name: after `{` or `,` (possibly on an earlier line).
    const w = /(\w*)$/.exec(before)!;
    const prefix = docBefore.slice(0, docBefore.length - w[1].length).replace(/\s+$/, '');
    const last = prefix[prefix.length - 1];
    if (last === '{' || last === ',') {
      return { from: ctx.pos - w[1].length, options: restCompletions, validFor: /^\w*$/ };
    }
  }

  // `child.` for any other identifier: execution handle methods, low priority.
  if ((m = /\b(?!this\b|system\b|console\b|JSON\b|Math\b|Object\b|inputs\b)[a-z_]\w*\s*\.\s*(\w*)$/i.exec(before)) && ctx.explicit) {
    return { from: ctx.pos - m[1].length, options: childMembers.map((i) => toCompletion(i, -1)), validFor: /^\w*$/ };
  }
  return null;
}

export interface EditorHandle {
  view: EditorView;
  getDoc(): string;
  setDoc(s: string): void;
  showError(line: number | undefined, column: number | undefined, message: string): void;
  clearErrors(): void;
  focus(): void;
  destroy(): void;
}

export interface EditorOptions {
  doc: string;
  onChange?: (doc: string) => void;
  onSave?: () => void;
  onRun?: () => void;
  readOnly?: boolean;
  label?: string;
}

export function createEditor(parent: HTMLElement, opts: EditorOptions): EditorHandle {
  const keys = Prec.highest(
    keymap.of([
      { key: 'Mod-s', preventDefault: true, run: () => (opts.onSave?.(), true) },
      { key: 'Mod-Enter', preventDefault: true, run: () => (opts.onRun?.(), true) },
    ]),
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.doc,
      extensions: [
        keys,
        basicSetup,
        keymap.of([indentWithTab]),
        javascript(),
        javascriptLanguage.data.of({ autocomplete: flowCompletions }),
        lintGutter(),
        EditorView.contentAttributes.of({ 'aria-label': opts.label ?? 'Flow script' }),
        EditorState.readOnly.of(!!opts.readOnly),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) {
            opts.onChange?.(u.state.doc.toString());
            // An edit makes the server's diagnostic stale.
            view.dispatch(setDiagnostics(u.state, []));
          }
        }),
      ],
    }),
  });
  return {
    view,
    getDoc: () => view.state.doc.toString(),
    setDoc: (s: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: s } }),
    showError(line, column, message) {
      const doc = view.state.doc;
      let from = 0;
      let to = doc.length;
      if (line && line >= 1 && line <= doc.lines) {
        const l = doc.line(line);
        from = l.from + Math.max(0, Math.min((column ?? 1) - 1, l.length));
        to = Math.max(from, l.to);
        if (from === to && l.length > 0) from = l.from;
      } else {
        to = Math.min(doc.length, doc.line(1).to);
      }
      const d: Diagnostic = { from, to, severity: 'error', message, source: 'flowd' };
      view.dispatch(setDiagnostics(view.state, [d]), { selection: { anchor: from }, scrollIntoView: true });
    },
    clearErrors() {
      view.dispatch(setDiagnostics(view.state, []));
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

/** A read-only side-by-side diff: `a` (older revision) against `b`. */
export function createDiff(parent: HTMLElement, a: string, b: string): { destroy(): void } {
  const ro = [basicSetup, javascript(), EditorState.readOnly.of(true), EditorView.editable.of(false)];
  const mv = new MergeView({
    a: { doc: a, extensions: ro },
    b: { doc: b, extensions: ro },
    parent,
    collapseUnchanged: { margin: 3, minSize: 6 },
    gutter: true,
  });
  return { destroy: () => mv.destroy() };
}
