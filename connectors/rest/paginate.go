package rest

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// DefaultMaxPages bounds a paginated call whose paginate.max_pages is not set.
const DefaultMaxPages = 100

// pageSpec is the paginate input.
type pageSpec struct {
	next     string // dotted path of the next page's token or URL
	param    string // query parameter that carries the token
	items    string // dotted path of the page's items; "": the page is the list
	maxPages int
}

func parsePaginate(in inputs) (*pageSpec, error) {
	obj, err := in.object("paginate")
	if err != nil || obj == nil {
		return nil, err
	}
	p := &pageSpec{maxPages: DefaultMaxPages}
	sub := inputs(obj)
	for k := range obj {
		if !slices.Contains([]string{"next", "param", "items", "max_pages"}, k) {
			return nil, inputErrorf("paginate", "input paginate: unknown key %q; use next, param, items and max_pages", k)
		}
	}
	if p.next, err = sub.str("next"); err != nil || p.next == "" {
		return nil, inputErrorf("paginate", "input paginate needs next, the dotted path of the next page token or URL in each page, like nextPageToken or links.next")
	}
	if p.param, err = sub.str("param"); err != nil {
		return nil, inputErrorf("paginate", "input paginate: param must be the name of the query parameter that carries the token, like pageToken")
	}
	if p.items, err = sub.str("items"); err != nil {
		return nil, inputErrorf("paginate", "input paginate: items must be the dotted path of the items in each page, like data")
	}
	if f, ok, err := sub.number("max_pages"); err != nil || ok && (f < 1 || f > 10000 || f != float64(int(f))) {
		return nil, inputErrorf("paginate", "input paginate: max_pages must be a whole number from 1 to 10000")
	} else if ok {
		p.maxPages = int(f)
	}
	return p, nil
}

// paginate requests page after page, following the next token or URL, and puts
// all items in out's json.items (with json.pages, and json.next: the token of the
// page not fetched because max_pages was reached, else null). The other outputs
// are those of the last page.
func (x *exchange) paginate(ctx context.Context, out map[string]any) (string, error) {
	p := x.s.paginate
	u := x.s.url
	shown := redactURL(u, x.s.auth.secretParams()...)
	items := []any{}
	key := x.idempotencyKey
	for page := 1; ; page++ {
		if key != "" && page > 1 {
			// Each page is another request: the same key would get the first
			// page's answer again from a server that honours it.
			x.idempotencyKey = fmt.Sprintf("%s/page-%d", key, page)
		}
		res, err := x.do(ctx, u)
		if err != nil {
			return "", fmt.Errorf("page %d: %w", page, err)
		}
		if !slices.Contains(x.s.expected, res.statusCode) {
			res.fillOutputs(out, true)
			return "", fmt.Errorf("page %d: %w", page, x.statusError(res))
		}
		doc, ok := parseJSON(res.body)
		if !ok {
			res.fillOutputs(out, true)
			return "", fmt.Errorf("page %d of %s is not JSON (%s); paginate needs JSON pages, remove paginate to get the raw answer", page, shown, excerpt(x.redactBody(res.body)))
		}
		found, ok := lookup(doc, p.items)
		list, isList := found.([]any)
		if !ok || !isList {
			res.fillOutputs(out, true)
			return "", inputErrorf("paginate", "page %d has no list at paginate.items %q; set items to the dotted path of the list in the page (see the json output)", page, p.items)
		}
		items = append(items, list...)
		token := nextToken(doc, p.next)
		x.log = append(x.log, map[string]any{"page": page, "items": len(list), "next": token,
			"message": fmt.Sprintf("page %d: %d items, next %q", page, len(list), token)})
		done := token == ""
		if done || page == p.maxPages {
			res.fillOutputs(out, false)
			var next any
			if !done {
				next = token
				x.log = append(x.log, map[string]any{"message": fmt.Sprintf("stopped after paginate.max_pages=%d pages; more pages remain (json.next)", p.maxPages)})
			}
			out["json"] = map[string]any{"items": items, "pages": page, "next": next}
			return fmt.Sprintf("%s %s: %d items from %d pages", x.s.method, shown, len(items), page), nil
		}
		if u, err = x.nextURL(u, token); err != nil {
			return "", err
		}
	}
}

// nextToken returns the next page token or URL at path; "" when there is none.
func nextToken(doc any, path string) string {
	v, ok := lookup(doc, path)
	if !ok || v == nil || v == false {
		return ""
	}
	s, _ := scalarString(v)
	return s
}

// nextURL returns the URL of the next page: token itself when it is a URL on the
// same origin (absolute or starting with /), else the first URL with param=token.
func (x *exchange) nextURL(cur *url.URL, token string) (*url.URL, error) {
	p := x.s.paginate
	if strings.HasPrefix(token, "http://") || strings.HasPrefix(token, "https://") || strings.HasPrefix(token, "/") {
		next, err := cur.Parse(token)
		if err != nil {
			return nil, fmt.Errorf("the next page URL %q is not valid: %w", token, err)
		}
		if origin(next) != origin(x.s.url) {
			return nil, inputErrorf("paginate", "the next page URL points to another host or scheme (%s); paginate only follows pages on %s, so that the credentials stay there",
				origin(next), origin(x.s.url))
		}
		return next, nil
	}
	if p.param == "" {
		return nil, inputErrorf("paginate", "the next page token %q is not a URL, so paginate needs param, the query parameter to send it in (like pageToken)", token)
	}
	next := *x.s.url
	q := next.Query()
	q.Set(p.param, token)
	next.RawQuery = q.Encode()
	return &next, nil
}
