package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// A flow declares its inputs with a JSON Schema (inputs_schema, saved with each
// revision). Every start of an execution, whatever its trigger, goes through
// createPending, which applies the schema's defaults and validates the inputs with
// CheckInputs before anything is recorded or run.

// MaxInputsSchemaBytes bounds a flow's inputs_schema as JSON: it is compiled at every
// start, and a form is drawn from it.
const MaxInputsSchemaBytes = 64 << 10

// inputsSchemaURL names the schema in messages and anchors its own $refs ("#/$defs/x").
const inputsSchemaURL = "inputs_schema.json"

// noRemoteRefs is the compiler's loader: a schema may refer only to itself. Loading
// another document would make a save or a start fetch a URL (or read a file) that the
// flow's author chose, from the API's process.
type noRemoteRefs struct{}

func (noRemoteRefs) Load(url string) (any, error) {
	return nil, fmt.Errorf("flowd loads no schema from elsewhere (%s): refer only within the schema, like {\"$ref\": \"#/$defs/address\"}", url)
}

// CheckInputsSchema checks a flow's inputs_schema at save time: JSON of at most
// MaxInputsSchemaBytes, an object schema, valid JSON Schema (draft 2020-12 unless its
// $schema says otherwise) that refers to no other document. Empty or null declares
// no inputs and is valid. It returns an EUnprocessable error that says what to fix.
func CheckInputsSchema(raw json.RawMessage) error {
	_, _, err := compileInputsSchema(raw)
	return err
}

// hasSchema reports whether raw declares a schema (neither empty nor null).
func hasSchema(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && string(t) != "null"
}

// compileInputsSchema compiles raw; it returns nils when raw declares no schema.
func compileInputsSchema(raw json.RawMessage) (*jsonschema.Schema, map[string]any, error) {
	if !hasSchema(raw) {
		return nil, nil, nil
	}
	bad := func(format string, args ...any) error {
		return Errorf(EUnprocessable, "inputs_schema "+format, args...)
	}
	if len(raw) > MaxInputsSchemaBytes {
		return nil, nil, bad("is %d bytes, over the limit of %d: declare fewer or shorter inputs", len(raw), MaxInputsSchemaBytes)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, nil, bad("is not valid JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, nil, bad(`must be a JSON object, like {"type": "object", "properties": {"name": {"type": "string"}}}`)
	}
	if t, ok := obj["type"]; ok && t != "object" {
		return nil, nil, bad(`must have "type": "object" at its root (a flow's inputs are always an object), not %v`, t)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noRemoteRefs{})
	c.AssertFormat()
	if err := c.AddResource(inputsSchemaURL, doc); err != nil {
		return nil, nil, bad("cannot be used: %v", err)
	}
	sch, err := c.Compile(inputsSchemaURL)
	if err != nil {
		return nil, nil, bad("is not a valid JSON Schema: %s", schemaErrorText(err))
	}
	var plain map[string]any // with float64 numbers, as the inputs have them
	if err := json.Unmarshal(raw, &plain); err != nil {
		return nil, nil, bad("is not valid JSON: %v", err)
	}
	return sch, plain, nil
}

// schemaErrorText is a compiler error in one line, without the library's file URLs.
func schemaErrorText(err error) string {
	var load *jsonschema.LoadURLError
	if errors.As(err, &load) {
		return load.Err.Error()
	}
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			field, msg := firstCause(ve)
			return fmt.Sprintf("at %q: %s", "#"+field, msg)
		}
	}
	s := strings.ReplaceAll(err.Error(), "file:///", "")
	return strings.Join(strings.Fields(s), " ")
}

// CheckInputs applies the defaults of schema (a flow's inputs_schema) to inputs and
// validates the result, for the flow named flow. It returns the inputs to run with
// (a copy; inputs itself is not changed), or an error with code EInvalidInputs whose
// Field is the JSON pointer of the first bad input. No schema returns inputs as they
// are. A schema that no longer compiles (it passed CheckInputsSchema when saved) is
// an EInvalidInputs error too, so that every trigger reports it instead of retrying.
func CheckInputs(flow string, schema json.RawMessage, inputs map[string]any) (map[string]any, error) {
	sch, plain, err := compileInputsSchema(schema)
	if err != nil {
		return nil, Errorf(EInvalidInputs, "flow %s's %s; save the flow with a valid one (PUT /api/v1/flows/%s)", flow, ErrorMessage(err), flow)
	}
	if sch == nil {
		return inputs, nil
	}
	out, err := copyJSON(inputs)
	if err != nil {
		return nil, Errorf(EInvalid, "inputs cannot be encoded as JSON: %v", err)
	}
	obj, _ := out.(map[string]any)
	if obj == nil {
		obj = map[string]any{}
	}
	obj, _ = applyDefaults(plain, obj).(map[string]any)
	err = sch.Validate(any(obj))
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		field, msg := firstCause(ve)
		where := "the inputs"
		if field != "" {
			where = "input " + field
		}
		return nil, &Error{Code: EInvalidInputs, Field: field,
			Message: fmt.Sprintf("%s: %s (flow %s declares its inputs in inputs_schema: GET /api/v1/flows/%s)", where, msg, flow, flow)}
	}
	if err != nil {
		return nil, Errorf(EInvalidInputs, "the inputs cannot be checked against flow %s's inputs_schema: %v", flow, err)
	}
	return obj, nil
}

var printer = message.NewPrinter(language.English)

// firstCause returns the JSON pointer and message of the first leaf of a validation
// error. A missing or unexpected property is named in the pointer, so that a form can
// mark its field.
func firstCause(ve *jsonschema.ValidationError) (field, msg string) {
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	path := append([]string(nil), ve.InstanceLocation...)
	if r, ok := ve.ErrorKind.(interface{ LocalizedString(*message.Printer) string }); ok {
		msg = r.LocalizedString(printer)
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Required:
		if len(k.Missing) > 0 {
			path = append(path, k.Missing[0])
			msg = "missing, and it is required"
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			path = append(path, k.Properties[0])
		}
	}
	return pointer(path), msg
}

// pointer is the JSON pointer (RFC 6901) of a path.
func pointer(path []string) string {
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(p))
	}
	return b.String()
}

// applyDefaults fills in, recursively, the default of every property that schema
// declares and v lacks, through "properties" and "items". Other keywords ($ref,
// allOf, ...) are not followed: their defaults are not applied.
func applyDefaults(schema map[string]any, v any) any {
	switch x := v.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for name, s := range props {
			sub, ok := s.(map[string]any)
			if !ok {
				continue
			}
			if cur, present := x[name]; present {
				x[name] = applyDefaults(sub, cur)
			} else if def, has := sub["default"]; has {
				c, err := copyJSON(def)
				if err == nil {
					x[name] = applyDefaults(sub, c)
				}
			}
		}
		return x
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i := range x {
				x[i] = applyDefaults(items, x[i])
			}
		}
		return x
	}
	return v
}

// copyJSON returns a deep copy of a JSON value, with float64 numbers.
func copyJSON(v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(raw, &out)
	return out, err
}
