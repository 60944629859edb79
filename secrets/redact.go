package secrets

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// minFragment is the shortest encoded fragment a Redactor replaces. A secret's
// base64 inside a longer base64 text (as in a Basic auth header) depends on its
// offset; shorter fragments than this would match ordinary text.
const minFragment = 6

// Redactor replaces secret values in text and in JSON-like values with
// "[redacted:NAME]": the value as it is, URL-encoded (query and path style) and
// base64-encoded (standard and URL alphabets, padded or not, alone or at any
// offset inside a longer base64 text). A nil *Redactor changes nothing.
type Redactor struct {
	r     *strings.Replacer
	names []string
}

// NewRedactor returns a Redactor of the secrets, by name. Empty values are
// ignored; when two names share a value, the first name in order is shown.
func NewRedactor(values map[string]string) *Redactor {
	names := make([]string, 0, len(values))
	for name, v := range values {
		if v != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	seen := map[string]bool{}
	type pair struct{ old, new string }
	var pairs []pair
	add := func(old, name string) {
		if old == "" || seen[old] {
			return
		}
		seen[old] = true
		pairs = append(pairs, pair{old, "[redacted:" + name + "]"})
	}
	for _, name := range names {
		for _, form := range forms(values[name]) {
			add(form, name)
		}
	}
	// Longest first, so a value is replaced whole rather than a part of it that
	// happens to be another form.
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].old) > len(pairs[j].old) })
	args := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		args = append(args, p.old, p.new)
	}
	return &Redactor{r: strings.NewReplacer(args...), names: names}
}

// forms returns the encodings of v that a Redactor replaces.
func forms(v string) []string {
	out := []string{v, url.QueryEscape(v), url.PathEscape(v)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		out = append(out, enc.EncodeToString([]byte(v)))
		raw := enc.WithPadding(base64.NoPadding)
		// The characters that depend on v alone when v starts k bytes into the
		// encoded data: from ceil(8k/6) to floor(8(k+n)/6).
		for k := 0; k < 3; k++ {
			e := raw.EncodeToString(append(make([]byte, k), v...))
			from, to := (8*k+5)/6, 8*(k+len(v))/6
			if to-from >= minFragment {
				out = append(out, e[from:to])
			}
		}
	}
	return out
}

// Names returns the names of the secrets r redacts, sorted.
func (r *Redactor) Names() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.names...)
}

// String returns s with every secret replaced.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Value returns a copy of v, a value as decoded from JSON (maps, slices, strings,
// numbers, booleans, nil), with every secret replaced in strings and map keys.
// Other types are returned as they are.
func (r *Redactor) Value(v any) any {
	if r == nil {
		return v
	}
	switch t := v.(type) {
	case string:
		return r.r.Replace(t)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[r.r.Replace(k)] = r.Value(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = r.Value(e)
		}
		return s
	case []string:
		s := make([]string, len(t))
		for i, e := range t {
			s[i] = r.r.Replace(e)
		}
		return s
	case json.Number:
		return r.number(string(t), t)
	case float64:
		return r.number(strconv.FormatFloat(t, 'f', -1, 64), t)
	case int:
		return r.number(strconv.Itoa(t), t)
	case int64:
		return r.number(strconv.FormatInt(t, 10), t)
	case map[string]string:
		m := make(map[string]string, len(t))
		for k, e := range t {
			m[r.r.Replace(k)] = r.r.Replace(e)
		}
		return m
	}
	return v
}

// number returns the redacted text of a number that contains a secret (a numeric
// PIN, say), else the number v as it was.
func (r *Redactor) number(text string, v any) any {
	if red := r.r.Replace(text); red != text {
		return red
	}
	return v
}

// Map is Value for a map; nil stays nil.
func (r *Redactor) Map(m map[string]any) map[string]any {
	if r == nil || m == nil {
		return m
	}
	return r.Value(m).(map[string]any)
}

// JSON returns raw with every secret replaced in its strings. Redacting the
// decoded value rather than the text catches values that JSON escapes (quotes,
// backslashes, <, >, &). Text that is not JSON is redacted as text.
func (r *Redactor) JSON(raw json.RawMessage) json.RawMessage {
	if r == nil || len(raw) == 0 {
		return raw
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return json.RawMessage(r.r.Replace(string(raw)))
	}
	out, err := json.Marshal(r.Value(v))
	if err != nil {
		return json.RawMessage(r.r.Replace(string(raw)))
	}
	return out
}
