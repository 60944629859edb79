package rest

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// buildURL returns the request URL from url, or from scheme, hostname, port,
// base_path and path, with params added to the query.
func buildURL(in inputs) (*url.URL, error) {
	raw, err := in.str("url")
	if err != nil {
		return nil, err
	}
	var u *url.URL
	if raw != "" {
		if u, err = parseURL(raw); err != nil {
			return nil, err
		}
	} else if u, err = urlFromParts(in); err != nil {
		return nil, err
	}
	u.Fragment, u.RawFragment = "", ""
	q, err := queryParams(in)
	if err != nil {
		return nil, err
	}
	if q != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += q
	}
	return u, nil
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, inputErrorf("url", "input url %q is not a valid URL (%v); write it like https://api.example.com/v1/items", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, inputErrorf("url", "input url %q must start with http:// or https:// and name a host, like https://api.example.com/v1/items", raw)
	}
	return u, nil
}

func urlFromParts(in inputs) (*url.URL, error) {
	host, err := in.str("hostname")
	if err != nil {
		return nil, err
	}
	host = strings.TrimSpace(host)
	if host == "" {
		return nil, &InputError{Inputs: []string{"url", "hostname"}, Message: "set input url (like https://api.example.com/v1/items) or hostname (like api.example.com)"}
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return nil, inputErrorf("hostname", "input hostname %q must be a host name only, like api.example.com; put the scheme in scheme and the path in path, or use url", host)
	}
	scheme, err := in.str("scheme")
	if err != nil {
		return nil, err
	}
	scheme = strings.ToLower(scheme)
	if scheme == "" {
		scheme = "https"
	}
	if scheme != "http" && scheme != "https" {
		return nil, inputErrorf("scheme", "input scheme must be http or https, not %q", scheme)
	}
	hostport := strings.Trim(host, "[]")
	if in.has("port") {
		p, err := parsePort(in["port"])
		if err != nil {
			return nil, err
		}
		hostport = net.JoinHostPort(hostport, strconv.Itoa(p))
	} else if strings.Contains(hostport, ":") {
		hostport = "[" + hostport + "]" // an IPv6 address
	}
	var segs []string
	for _, name := range []string{"base_path", "path"} {
		p, err := in.str(name)
		if err != nil {
			return nil, err
		}
		if p = strings.Trim(p, "/"); p != "" {
			segs = append(segs, p)
		}
	}
	u := &url.URL{Scheme: scheme, Host: hostport, Path: "/" + strings.Join(segs, "/")}
	return u, nil
}

func parsePort(v any) (int, error) {
	s, ok := scalarString(v)
	p, err := strconv.Atoi(s)
	if !ok || err != nil || p < 1 || p > 65535 {
		return 0, inputErrorf("port", "input port must be a number from 1 to 65535, not %v", v)
	}
	return p, nil
}

// queryParams encodes params sorted by name; a list repeats its key.
func queryParams(in inputs) (string, error) {
	obj, err := in.object("params")
	if err != nil || len(obj) == 0 {
		return "", err
	}
	v := url.Values{}
	for k, val := range obj {
		list, isList := val.([]any)
		if !isList {
			list = []any{val}
		}
		for _, e := range list {
			if e == nil {
				continue
			}
			s, ok := scalarString(e)
			if !ok {
				return "", inputErrorf("params", "input params: the value of %q must be text, a number, a boolean or a list of those, not %s; encode nested data yourself, e.g. with JSON.stringify", k, kind(e))
			}
			v.Add(k, s)
		}
	}
	return v.Encode(), nil
}

// redactURL returns u as text without a password or API key, for logs and errors.
func redactURL(u *url.URL, secretParams ...string) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	if len(secretParams) > 0 && c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if slices.Contains(secretParams, k) {
				q.Set(k, "REDACTED")
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}
