// A form for a flow's declared inputs (its JSON Schema `inputs_schema`): string,
// number/integer, boolean, enum, arrays and objects, with required marks and
// defaults. The server validates; its 422 `invalid_inputs` names the field, which
// the form marks.
export interface Schema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  items?: Schema;
  format?: string;
}

/** Form state: the text (or checkbox) of each field, by dotted path. */
export type FormValues = Record<string, string | boolean>;

function typeOf(s: Schema): string {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t) return t;
  if (s.properties) return 'object';
  if (s.enum) return 'enum';
  return 'string';
}

/** Whether a schema declares named inputs a form can show. */
export function hasFields(schema: unknown): schema is Schema {
  const s = schema as Schema | null;
  return !!s && typeof s === 'object' && !!s.properties && Object.keys(s.properties).length > 0;
}

/** How a field is edited. */
function kindOf(s: Schema): 'enum' | 'boolean' | 'number' | 'string' | 'list' | 'object' | 'json' {
  if (Array.isArray(s.enum)) return 'enum';
  const t = typeOf(s);
  if (t === 'boolean') return 'boolean';
  if (t === 'number' || t === 'integer') return 'number';
  if (t === 'object') return s.properties && Object.keys(s.properties).length ? 'object' : 'json';
  if (t === 'array') {
    const it = s.items ? typeOf(s.items) : 'string';
    return s.items?.enum || !['string', 'number', 'integer'].includes(it) ? 'json' : 'list';
  }
  return 'string';
}

function initial(s: Schema, v: unknown): string | boolean {
  const k = kindOf(s);
  if (k === 'boolean') return v === true;
  if (v === undefined || v === null) return '';
  if (k === 'enum') return String(Math.max(-1, (s.enum ?? []).findIndex((e) => JSON.stringify(e) === JSON.stringify(v))));
  if (k === 'list') return Array.isArray(v) ? v.map(String).join('\n') : '';
  if (k === 'json') return JSON.stringify(v, null, 2);
  return String(v);
}

/** The form's starting values: the given inputs, else each field's default. */
export function initialValues(schema: Schema, inputs: Record<string, unknown> = {}, prefix = ''): FormValues {
  const out: FormValues = {};
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const path = prefix + name;
    const given = inputs[name];
    if (kindOf(s) === 'object') Object.assign(out, initialValues(s, (given as Record<string, unknown>) ?? (s.default as Record<string, unknown>) ?? {}, path + '.'));
    else out[path] = initial(s, given !== undefined ? given : s.default);
  }
  return out;
}

/** A value the form cannot turn into JSON, with the field it belongs to. */
export class FieldError extends Error {
  field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/**
 * The inputs object of the form. Empty fields are left out, so that the server
 * applies the schema's defaults and names a missing required field.
 */
export function collect(schema: Schema, values: FormValues, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(schema.properties ?? {})) {
    const path = prefix + name;
    const k = kindOf(s);
    if (k === 'object') {
      const inner = collect(s, values, path + '.');
      if (Object.keys(inner).length) out[name] = inner;
      continue;
    }
    const v = values[path];
    if (k === 'boolean') {
      out[name] = v === true;
      continue;
    }
    if (typeof v !== 'string' || v.trim() === '') continue;
    if (k === 'enum') {
      const i = Number(v);
      if (i >= 0 && s.enum && i < s.enum.length) out[name] = s.enum[i];
    } else if (k === 'number') {
      const n = Number(v);
      if (!isFinite(n)) throw new FieldError(path, `${v} is not a number.`);
      out[name] = n;
    } else if (k === 'list') {
      const it = s.items ? typeOf(s.items) : 'string';
      const list = v.split('\n').map((x) => x.trim()).filter(Boolean);
      out[name] = it === 'string' ? list : list.map(Number);
      if (it !== 'string' && (out[name] as number[]).some((n) => !isFinite(n))) throw new FieldError(path, 'Write one number per line.');
    } else if (k === 'json') {
      try {
        out[name] = JSON.parse(v);
      } catch (e) {
        throw new FieldError(path, `Not valid JSON: ${(e as Error).message}`);
      }
    } else out[name] = v;
  }
  return out;
}

/** Maps the server's `field` (`who`, `/who`, `customer/name`, `inputs.tags.0`) to a field of the form. */
export function fieldPath(schema: Schema, field: string | undefined): string | null {
  if (!field) return null;
  let f = field.replace(/^\$\.?/, '').replace(/^\/+/, '').replace(/\//g, '.').replace(/\[(\d+)\]/g, '.$1');
  if (f.startsWith('inputs.')) f = f.slice(7);
  const known = Object.keys(initialValues(schema));
  while (f) {
    if (known.includes(f)) return f;
    const i = f.lastIndexOf('.');
    if (i < 0) break;
    f = f.slice(0, i);
  }
  return null;
}

const inputTypes: Record<string, string> = { date: 'date', email: 'email', uri: 'url' };

export function SchemaFields({
  schema,
  values,
  onChange,
  errors,
  prefix = '',
  idPrefix = 'in',
}: {
  schema: Schema;
  values: FormValues;
  onChange: (v: FormValues) => void;
  errors: Record<string, string>;
  prefix?: string;
  idPrefix?: string;
}) {
  const required = schema.required ?? [];
  return (
    <>
      {Object.entries(schema.properties ?? {}).map(([name, s]) => {
        const path = prefix + name;
        const id = `${idPrefix}-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;
        const label = s.title || name;
        const req = required.includes(name);
        const k = kindOf(s);
        const err = errors[path];
        const set = (v: string | boolean) => onChange({ ...values, [path]: v });
        const mark = req ? (
          <span class="req" aria-hidden="true">
            {' '}
            *
          </span>
        ) : null;
        const help = (
          <>
            {s.description && (
              <span class="muted small" id={`${id}-desc`}>
                {s.description}
              </span>
            )}
            {err && (
              <span class="field-error" id={`${id}-err`} role="alert" data-testid="field-error">
                {err}
              </span>
            )}
          </>
        );
        const described = [s.description ? `${id}-desc` : '', err ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined;
        const common = { id, 'aria-invalid': err ? ('true' as const) : undefined, 'aria-required': req ? ('true' as const) : undefined, 'aria-describedby': described, name: path };
        if (k === 'object')
          return (
            <fieldset class="subfields">
              <legend>
                {label}
                {mark}
              </legend>
              {s.description && <span class="muted small">{s.description}</span>}
              <SchemaFields schema={s} values={values} onChange={onChange} errors={errors} prefix={path + '.'} idPrefix={idPrefix} />
            </fieldset>
          );
        if (k === 'boolean')
          return (
            <div class={`field ${err ? 'invalid' : ''}`} data-field={path}>
              <label class="check" for={id}>
                <input type="checkbox" {...common} checked={values[path] === true} onChange={(e) => set(e.currentTarget.checked)} />
                {label}
                {mark}
              </label>
              {help}
            </div>
          );
        return (
          <div class={`field ${err ? 'invalid' : ''}`} data-field={path}>
            <label for={id}>
              <span>
                {label}
                {mark}
                {k === 'list' && <span class="muted"> (one per line)</span>}
                {k === 'json' && <span class="muted"> (JSON)</span>}
              </span>
            </label>
            {k === 'enum' ? (
              <select {...common} value={String(values[path] ?? '')} onChange={(e) => set(e.currentTarget.value)}>
                {(s.default === undefined || !req) && <option value="">— choose —</option>}
                {(s.enum ?? []).map((o, i) => (
                  <option value={String(i)}>{typeof o === 'string' ? o : JSON.stringify(o)}</option>
                ))}
              </select>
            ) : k === 'list' || k === 'json' ? (
              <textarea {...common} class="mono" rows={k === 'json' ? 4 : 3} spellcheck={false} value={String(values[path] ?? '')} onInput={(e) => set(e.currentTarget.value)} />
            ) : (
              <input
                {...common}
                type={(k === 'number' ? 'number' : (s.format && inputTypes[s.format]) || 'text') as 'text'}
                step={typeOf(s) === 'integer' ? 1 : 'any'}
                value={String(values[path] ?? '')}
                placeholder={s.default !== undefined ? `default: ${String(s.default)}` : s.format === 'date-time' ? '2026-01-02T15:04:05Z' : undefined}
                onInput={(e) => set(e.currentTarget.value)}
              />
            )}
            {help}
          </div>
        );
      })}
    </>
  );
}
