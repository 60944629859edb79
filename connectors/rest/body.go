package rest

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// bodyInputs are the inputs that each make a request body; at most one may be set.
var bodyInputs = []string{"json", "data", "text", "urlencoded", "multipart"}

// bodySpec is the request body as given; multipart file parts are read when the
// body is built.
type bodySpec struct {
	input       string // which body input: json, data, text, urlencoded or multipart
	data        []byte // json, data, text and urlencoded
	contentType string
	multipart   *multipartSpec
}

func parseBody(in inputs) (*bodySpec, error) {
	var set []string
	for _, name := range bodyInputs {
		if in.has(name) { // null counts as absent, also for json
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		return nil, &InputError{Inputs: set, Message: "only one body can be sent, but inputs " + strings.Join(set, " and ") + " are all set; keep one of them"}
	}
	if len(set) == 0 {
		return nil, nil
	}
	b := &bodySpec{input: set[0]}
	switch b.input {
	case "json", "data":
		data, err := json.Marshal(in[b.input])
		if err != nil {
			return nil, inputErrorf(b.input, "input %s cannot be encoded as JSON (%v); pass plain objects, lists, text, numbers and booleans", b.input, err)
		}
		b.data, b.contentType = data, "application/json"
	case "text":
		s, err := in.str("text")
		if err != nil {
			return nil, err
		}
		b.data, b.contentType = []byte(s), "text/plain; charset=utf-8"
	case "urlencoded":
		enc, err := urlencoded(in["urlencoded"])
		if err != nil {
			return nil, err
		}
		b.data, b.contentType = []byte(enc), "application/x-www-form-urlencoded"
	case "multipart":
		m, err := parseMultipart(in["multipart"])
		if err != nil {
			return nil, err
		}
		b.multipart = m
	}
	return b, nil
}

// urlencoded encodes an object as a form, sorted by key, lists repeating the key.
// Text is taken as already encoded.
func urlencoded(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case map[string]any:
		form := url.Values{}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			list, isList := v[k].([]any)
			if !isList {
				list = []any{v[k]}
			}
			for _, e := range list {
				if e == nil {
					continue
				}
				s, ok := scalarString(e)
				if !ok {
					return "", inputErrorf("urlencoded", "input urlencoded: the value of %q must be text, a number, a boolean or a list of those, not %s", k, kind(e))
				}
				form.Add(k, s)
			}
		}
		return form.Encode(), nil
	default:
		return "", inputErrorf("urlencoded", "input urlencoded must be an object like {\"name\": \"value\"}, not %s", kind(v))
	}
}

// build returns the body bytes and content type, reading stored files through
// files for multipart file parts.
func (b *bodySpec) build(ctx context.Context, files FileStore) ([]byte, string, error) {
	if b.multipart != nil {
		return b.multipart.build(ctx, files)
	}
	return b.data, b.contentType, nil
}
