package rest

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// inputs reads decoded JSON inputs. A null value counts as absent.
type inputs map[string]any

func (in inputs) has(name string) bool { return in[name] != nil }

// str returns a string input; "" when absent. Numbers are accepted as text so that
// a port or an id may be given either way.
func (in inputs) str(name string) (string, error) {
	v := in[name]
	if v == nil {
		return "", nil
	}
	if s, ok := scalarString(v); ok {
		return s, nil
	}
	return "", inputErrorf(name, "input %s must be text, not %s", name, kind(v))
}

func (in inputs) boolean(name string, def bool) (bool, error) {
	switch v := in[name].(type) {
	case nil:
		return def, nil
	case bool:
		return v, nil
	default:
		return false, inputErrorf(name, "input %s must be true or false, not %s", name, kind(v))
	}
}

// number returns a numeric input and whether it was set.
func (in inputs) number(name string) (float64, bool, error) {
	v := in[name]
	if v == nil {
		return 0, false, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, false, inputErrorf(name, "input %s must be a number, not %s", name, kind(v))
	}
	return f, true, nil
}

// seconds returns a duration given in seconds; 0 when absent, null or 0.
func (in inputs) seconds(name string) (time.Duration, error) {
	f, _, err := in.number(name)
	if err != nil {
		return 0, err
	}
	if f < 0 || f > 7*24*3600 {
		return 0, inputErrorf(name, "input %s must be a number of seconds between 0 (no timeout) and 604800, not %v", name, f)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func (in inputs) object(name string) (map[string]any, error) {
	switch v := in[name].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	default:
		return nil, inputErrorf(name, "input %s must be an object like {\"key\": \"value\"}, not %s", name, kind(v))
	}
}

// stringMap returns an object input whose values are text, numbers or booleans;
// null values are left out.
func (in inputs) stringMap(name string) (map[string]string, error) {
	obj, err := in.object(name)
	if err != nil || obj == nil {
		return nil, err
	}
	m := make(map[string]string, len(obj))
	for k, v := range obj {
		if v == nil {
			continue
		}
		s, ok := scalarString(v)
		if !ok {
			return nil, inputErrorf(name, "input %s: the value of %q must be text, a number or a boolean, not %s", name, k, kind(v))
		}
		m[k] = s
	}
	return m, nil
}

// ints returns a list of integers given as one number or a list of numbers.
func (in inputs) ints(name string, def []int) ([]int, error) {
	v := in[name]
	if v == nil {
		return def, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]int, 0, len(list))
	for _, e := range list {
		f, ok := toFloat(e)
		if !ok || f != math.Trunc(f) || f < 100 || f > 999 {
			return nil, inputErrorf(name, "input %s must be an HTTP status code or a list of them, like [200, 201]; %v is not one", name, e)
		}
		out = append(out, int(f))
	}
	return out, nil
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// scalarString formats text, numbers and booleans as they would appear in a URL.
func scalarString(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case bool:
		return strconv.FormatBool(s), true
	case json.Number:
		return s.String(), true
	}
	if f, ok := toFloat(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}

// kind names a JSON value's type for error messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "text"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if _, ok := toFloat(v); ok {
		return "a number"
	}
	return "a value of an unsupported type"
}
