package secrets

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// minFragment is the shortest encoded fragment a Redactor replaces. A secret's
// base64 inside a longer base64 text (as in a Basic auth header) depends on its
// offset; shorter fragments than this would match ordinary text.
const minFragment = 6

// Marker is what a Redactor puts in place of a secret. It does not name the
// secret: whoever may read an execution may not know which secrets exist.
const Marker = "[redacted]"

// Redactor replaces secret values in text, bytes and JSON-like values with Marker,
// in every form flowd produces or passes on from an API (see forms). A nil
// *Redactor changes nothing.
type Redactor struct {
	r     *strings.Replacer
	names []string
}

// NewRedactor returns a Redactor of the secrets, by name. Empty values are
// ignored; it returns nil when no value is left.
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
	var olds []string
	for _, name := range names {
		for _, form := range forms(values[name]) {
			if form != "" && !seen[form] {
				seen[form] = true
				olds = append(olds, form)
			}
		}
	}
	// Longest first: at one position the Replacer takes the first match in
	// argument order, so a value is replaced whole rather than a part of it that
	// happens to be another form.
	sort.SliceStable(olds, func(i, j int) bool { return len(olds[i]) > len(olds[j]) })
	args := make([]string, 0, 2*len(olds))
	for _, old := range olds {
		args = append(args, old, Marker)
	}
	return &Redactor{r: strings.NewReplacer(args...), names: names}
}

// forms returns the encodings of v that a Redactor replaces:
//   - the text forms: v itself, percent-encoded as a query value (url.QueryEscape,
//     as url.Values encodes), as a path segment (url.PathEscape) and as a path
//     (how a URL prints a path holding v: / ; , stay as they are);
//   - each text form as it appears inside a JSON string (Go's encoding with \u003c
//     for < > &, the plain one of JSON.stringify with only " \ and control
//     characters escaped, that one with / escaped as \/, as PHP writes it, and
//     with every non-ASCII character as \uXXXX, as Python writes it) and inside a
//     Go-quoted string (%q, as in the errors of net/http);
//   - the same with the hex digits of \uXXXX in upper case (\u003C, as Java and
//     .NET write them), .NET's default JSON escaping, the percent-encodings with
//     lower-case hex digits (%3c), and v escaped for HTML or XML (&lt; &quot; &#39;),
//     as error pages quote what they were sent;
//   - base64 (standard and URL alphabets, padded or not), alone or at any offset
//     inside a longer base64 text such as a Basic auth header "user:password" or
//     a binary body returned as base64.
func forms(v string) []string {
	texts := []string{v, url.QueryEscape(v), url.PathEscape(v), (&url.URL{Path: v}).EscapedPath()}
	var out []string
	texts = append(texts, lowerHex(url.QueryEscape(v)), lowerHex(url.PathEscape(v)))
	for _, t := range texts {
		plain := jsonInner(t, false)
		out = append(out, t, jsonInner(t, true), plain, strings.ReplaceAll(plain, "/", `\/`), asciiJSON(plain), quotedInner(t),
			upperHex(jsonInner(t, true)), upperHex(asciiJSON(plain)), upperHex(asciiJSON(jsonInner(t, true))), dotnetJSON(t))
	}
	out = append(out, htmlForms(v)...)
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

// jsonInner returns s as encoding/json writes it inside a JSON string, without
// the quotes; escapeHTML chooses Go's default (<, > and & as \u003c, \u003e,
// \u0026) or the plain form.
func jsonInner(s string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		return s // a string always encodes
	}
	return strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), `"`)[1:]
}

// asciiJSON returns the inside of a JSON string with every non-ASCII character
// escaped as \uXXXX (a surrogate pair above U+FFFF), as Python's json.dumps
// writes it by default.
func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// Escapes whose hex digits encoders write in either case: \uXXXX in JSON, %XX in URLs.
var (
	jsonEscapeRE = regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)
	percentRE    = regexp.MustCompile(`%[0-9a-fA-F]{2}`)
)

// upperHex returns s with the hex digits of its \uXXXX escapes in upper case, as
// Java and .NET serializers write them (\u003C, \u00FC).
func upperHex(s string) string {
	return jsonEscapeRE.ReplaceAllStringFunc(s, func(m string) string { return `\u` + strings.ToUpper(m[2:]) })
}

// lowerHex returns s with the hex digits of its %XX escapes in lower case (%3c),
// which decoders read like %3C.
func lowerHex(s string) string { return percentRE.ReplaceAllStringFunc(s, strings.ToLower) }

// dotnetJSON returns the inside of a JSON string as .NET's System.Text.Json writes
// it by default: < > & ' " + ` and every non-ASCII character as upper-case \uXXXX.
func dotnetJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteString(strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(string(r)))
		case r < 0x20 || r >= utf8.RuneSelf || strings.ContainsRune("<>&'\"+`", r):
			if r > 0xffff {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, "\\u%04X\\u%04X", r1, r2)
			} else {
				fmt.Fprintf(&b, "\\u%04X", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// htmlForms returns v escaped for HTML and XML, as error pages quote what they were
// sent: Go's html.EscapeString and the entities PHP and Python use for ' and ".
func htmlForms(v string) []string {
	out := []string{html.EscapeString(v)}
	for _, quot := range []string{"&quot;", "&#34;"} {
		for _, apos := range []string{"&#39;", "&#039;", "&#x27;", "&apos;", "'"} {
			out = append(out, strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, quot, "'", apos).Replace(v))
		}
	}
	return out
}

// quotedInner returns s as strconv.Quote (fmt's %q) writes it, without the quotes.
func quotedInner(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
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

// Bytes returns data with every secret replaced, whatever the data is: text in
// any encoding or binary (a secret's bytes inside a binary file are replaced too,
// which changes the file). It returns data itself when nothing was replaced.
func (r *Redactor) Bytes(data []byte) []byte {
	if r == nil {
		return data
	}
	s := string(data)
	if red := r.r.Replace(s); red != s {
		return []byte(red)
	}
	return data
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
