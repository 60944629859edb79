package rest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// response is one HTTP answer with its body read.
type response struct {
	statusCode int
	status     string
	header     http.Header
	cookies    []*http.Cookie
	body       []byte
	tries      int // set when retries gave up on a retry_status_code answer
}

// tooLargeInline reports whether the body takes more than limit bytes in the
// outputs (about its length; base64 makes a binary body a third larger).
func (r *response) tooLargeInline(limit int64) bool {
	switch {
	case limit <= 0:
		return false
	case int64(len(r.body)) > limit:
		return true
	case int64(base64.StdEncoding.EncodedLen(len(r.body))) <= limit:
		return false
	}
	kind, _, _ := decodeBody(r.header.Get("Content-Type"), r.body)
	return kind == "bytes"
}

// fillOutputs puts the response into out: status_code, headers, cookies,
// encoding, and the body as json, text or bytes (unless withBody is false).
//
// headers maps lower-case header names (as the fetch API and HTTP/2 spell them)
// to text; a header sent several times is joined with ", " (RFC 9110 §5.3).
// cookies maps the names of the cookies the final response sets to their values.
func (r *response) fillOutputs(out map[string]any, withBody bool) {
	out["status_code"] = r.statusCode
	headers := map[string]any{}
	for k, v := range r.header {
		headers[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	out["headers"] = headers
	cookies := map[string]any{}
	for _, c := range r.cookies {
		cookies[c.Name] = c.Value
	}
	out["cookies"] = cookies
	kindName, value, encoding := decodeBody(r.header.Get("Content-Type"), r.body)
	out["encoding"] = encoding
	if withBody {
		out[kindName] = value
	}
}

// decodeBody decides how a body is returned:
//   - json: the body parses as JSON and its content type is JSON (application/json,
//     anything +json), text/plain or missing;
//   - text: otherwise, when the content type is textual (text/*, XML, JavaScript,
//     forms, or none/octet-stream with UTF-8 content) and it decodes in its charset;
//   - bytes: base64 of anything else.
//
// encoding is the charset the text was decoded from ("" for bytes).
func decodeBody(contentType string, body []byte) (kind string, value any, encoding string) {
	mt, params, _ := mime.ParseMediaType(contentType)
	charset := strings.ToLower(params["charset"])
	textual := isTextualType(mt)
	if !textual && (mt == "" || mt == "application/octet-stream") && isText(body) {
		textual = true
	}
	if !textual {
		return "bytes", base64.StdEncoding.EncodeToString(body), ""
	}
	text, encoding, ok := decodeText(body, charset)
	if !ok {
		return "bytes", base64.StdEncoding.EncodeToString(body), ""
	}
	if mt == "" || mt == "text/plain" || mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if v, ok := parseJSON([]byte(text)); ok {
			return "json", v, encoding
		}
	}
	return "text", text, encoding
}

func isTextualType(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/ecmascript",
		mt == "application/x-www-form-urlencoded", mt == "application/yaml",
		mt == "application/x-yaml", mt == "application/graphql":
		return true
	}
	return false
}

// decodeText converts body from charset (default UTF-8) to a Go string.
func decodeText(body []byte, charset string) (string, string, bool) {
	switch charset {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		if !utf8.Valid(body) {
			return "", "", false
		}
		return string(body), "utf-8", true
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return "", "", false
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return "", "", false
	}
	name, _ := htmlindex.Name(enc)
	return string(out), name, true
}

// isText reports whether data is UTF-8 without control characters other than
// tab, line feed, carriage return and form feed.
func isText(data []byte) bool {
	if !utf8.Valid(data) {
		return false
	}
	for _, b := range data {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' || b == 0x7f {
			return false
		}
	}
	return true
}

// parseJSON decodes data keeping integers exact: whole numbers that fit in an int64
// become int, others float64.
func parseJSON(data []byte) (any, bool) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return plainNumbers(v), true
}

func plainNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// excerpt returns the start of a text body for error messages; "" for binary.
func excerpt(body []byte) string {
	if !isText(body) {
		return ""
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
