package rest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"path"
	"strconv"
	"strings"
)

// multipartSpec is the multipart input: parts plus optional boundary and content
// type. The body is written as Cloudomation's REST connector writes it: each part
// has Content-Type, Content-Disposition and Content-Length in that order, any of
// which the part may override or drop with false; the default content type of the
// whole body is multipart/mixed.
type multipartSpec struct {
	contentType string
	boundary    string
	parts       []partSpec
}

type partSpec struct {
	name    string
	value   []byte
	file    string // a stored file's name; read when the body is built
	isFile  bool
	headers [3]partHeader // Content-Type, Content-Disposition, Content-Length
}

// partHeader is a part header given by the user: set means override (or drop, when
// drop is true); unset means the default.
type partHeader struct {
	set   bool
	drop  bool
	value string
}

var partHeaderNames = [3]string{"content-type", "content-disposition", "content-length"}

func parseMultipart(v any) (*multipartSpec, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, inputErrorf("multipart", "input multipart must be an object like {parts: [{name: 'field', value: 'text'}]}, not %s", kind(v))
	}
	m := &multipartSpec{contentType: "multipart/mixed"}
	for k, val := range obj {
		switch k {
		case "parts":
		case "boundary", "content-type":
			s, ok := val.(string)
			if !ok || s == "" {
				return nil, inputErrorf("multipart", "input multipart: %s must be non-empty text", k)
			}
			if k == "boundary" {
				if err := checkBoundary(s); err != nil {
					return nil, err
				}
				m.boundary = s
			} else {
				if _, _, err := mime.ParseMediaType(s); err != nil {
					return nil, inputErrorf("multipart", "input multipart: content-type %q is not a media type (%v); write it like multipart/form-data", s, err)
				}
				m.contentType = s
			}
		default:
			return nil, inputErrorf("multipart", "input multipart: unknown key %q; use parts, boundary and content-type", k)
		}
	}
	list, ok := obj["parts"].([]any)
	if !ok || len(list) == 0 {
		return nil, inputErrorf("multipart", "input multipart needs a non-empty list parts, like [{name: 'field', value: 'text'}, {name: 'upload', file: 'report.txt'}]")
	}
	for i, p := range list {
		part, err := parsePart(i, p)
		if err != nil {
			return nil, err
		}
		m.parts = append(m.parts, part)
	}
	if m.boundary == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("could not make a multipart boundary: %w", err)
		}
		m.boundary = hex.EncodeToString(b)
	}
	return m, nil
}

func parsePart(i int, v any) (partSpec, error) {
	var p partSpec
	obj, ok := v.(map[string]any)
	if !ok {
		return p, inputErrorf("multipart", "multipart part %d must be an object like {name: 'field', value: 'text'}, not %s", i+1, kind(v))
	}
	for k := range obj {
		switch k {
		case "name", "value", "file", "content-type", "content-disposition", "content-length":
		default:
			return p, inputErrorf("multipart", "multipart part %d: unknown key %q; use name, value or file, content-type, content-disposition, content-length", i+1, k)
		}
	}
	name, ok := obj["name"].(string)
	if !ok || name == "" {
		return p, inputErrorf("multipart", "multipart part %d needs a name (text)", i+1)
	}
	p.name = name
	_, hasValue := obj["value"]
	_, hasFile := obj["file"]
	switch {
	case hasValue == hasFile:
		return p, inputErrorf("multipart", "multipart part %q needs exactly one of value (the content) or file (the name of a stored file)", name)
	case hasFile:
		f, ok := obj["file"].(string)
		if !ok || f == "" {
			return p, inputErrorf("multipart", "multipart part %q: file must be the name of a stored file", name)
		}
		p.file, p.isFile = f, true
	default:
		switch val := obj["value"].(type) {
		case string:
			p.value = []byte(val)
		case map[string]any, []any:
			b, err := json.Marshal(val)
			if err != nil {
				return p, inputErrorf("multipart", "multipart part %q: value cannot be encoded as JSON: %v", name, err)
			}
			p.value = b
			p.headers[0] = partHeader{set: true, value: "application/json"}
		default:
			s, ok := scalarString(val)
			if !ok {
				return p, inputErrorf("multipart", "multipart part %q: value must be text, a number, a boolean, an object or a list", name)
			}
			p.value = []byte(s)
		}
	}
	for j, h := range partHeaderNames {
		val, ok := obj[h]
		if !ok {
			continue
		}
		switch x := val.(type) {
		case bool:
			if x {
				return p, inputErrorf("multipart", "multipart part %q: %s may be text or false (to leave the header out), not true", name, h)
			}
			p.headers[j] = partHeader{set: true, drop: true}
		default:
			s, ok := scalarString(x)
			if !ok || strings.ContainsAny(s, "\r\n") {
				return p, inputErrorf("multipart", "multipart part %q: %s must be text on one line or false", name, h)
			}
			p.headers[j] = partHeader{set: true, value: s}
		}
	}
	return p, nil
}

// checkBoundary applies RFC 2046 §5.1.1: 1 to 70 characters from a safe set, not
// ending in a space.
func checkBoundary(b string) error {
	ok := len(b) <= 70 && !strings.HasSuffix(b, " ")
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("'()+_,-./:=? ", r)) {
			ok = false
		}
	}
	if !ok {
		return inputErrorf("multipart", "multipart boundary %q is not allowed; use up to 70 letters, digits and '()+_,-./:=? characters", b)
	}
	return nil
}

// build writes the body and returns it with its Content-Type header value.
func (m *multipartSpec) build(ctx context.Context, files FileStore) ([]byte, string, error) {
	var buf bytes.Buffer
	for _, p := range m.parts {
		content, defaults := p.value, [3]string{"text/plain; charset=utf-8", fmt.Sprintf("form-data; name=%s", quote(p.name)), ""}
		if p.isFile {
			if files == nil {
				return nil, "", inputErrorf("multipart", "multipart part %q uses file %q, but stored files are not available here; send the content as value instead", p.name, p.file)
			}
			data, err := files.ReadFile(ctx, p.file)
			if err != nil {
				return nil, "", &InputError{Inputs: []string{"multipart"}, Message: fmt.Sprintf("multipart part %q: cannot read stored file %q (%v); check that the file exists", p.name, p.file, err)}
			}
			content = data
			defaults[0] = fileContentType(p.file, data)
			defaults[1] += "; filename=" + quote(path.Base(p.file))
		}
		defaults[2] = strconv.Itoa(len(content))
		fmt.Fprintf(&buf, "--%s\r\n", m.boundary)
		for j, h := range p.headers {
			v := defaults[j]
			if h.set {
				if h.drop {
					continue
				}
				v = h.value
			}
			fmt.Fprintf(&buf, "%s: %s\r\n", canonicalPartHeaders[j], v)
		}
		buf.WriteString("\r\n")
		buf.Write(content)
		buf.WriteString("\r\n")
	}
	fmt.Fprintf(&buf, "--%s--\r\n", m.boundary)
	mt, params, _ := mime.ParseMediaType(m.contentType) // checked in parseMultipart
	params["boundary"] = m.boundary
	return buf.Bytes(), mime.FormatMediaType(mt, params), nil
}

var canonicalPartHeaders = [3]string{"Content-Type", "Content-Disposition", "Content-Length"}

// fileContentType guesses a stored file's type from its extension, else from its
// content: UTF-8 text is text/plain, anything else application/octet-stream.
func fileContentType(name string, data []byte) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	if isText(data) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// quote returns s as a quoted string for a header parameter.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
