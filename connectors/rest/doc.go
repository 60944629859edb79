// Package rest is flowd's REST connector: one Call sends an HTTP request described
// by the flow's inputs (see KnownInputs, and docs/rest-connector.md for users)
// and returns the outputs the flow reads. It is plain Go with no engine or
// Temporal dependency; the engine supplies stored files, saved OAuth2 grants and
// a token cache through Connector's fields.
//
// Behaviour worth knowing:
//
//   - URL: url wins over scheme (https), hostname, port, base_path and path, which
//     are joined with single slashes. params are added to the query (sorted by
//     name); a list repeats the key.
//   - Body: at most one of json, data (deprecated alias of json), text, urlencoded
//     and multipart. A null input counts as absent. The method defaults to GET, or
//     POST with a body; json only goes with POST, PUT, PATCH or DELETE. A
//     Content-Type in headers wins, except for multipart, whose boundary must match.
//     multipart follows Cloudomation: default type multipart/mixed (set
//     content-type multipart/form-data for HTML-form style uploads).
//   - Retries: connection errors, timeouts and retry_status_code answers are tried
//     again after initial*multiplier^n seconds (at least 1 s, at most maximum, and
//     at least a Retry-After the server sent), as long as the next try starts
//     before deadline. Certificate errors, refused domains, too many redirects, a
//     too-large body and failed token requests are not retried.
//   - Timeouts: connect_timeout covers TCP connect and TLS handshake, read_timeout
//     any wait for data (headers or body), total_timeout one whole try.
//   - Redirects (see followRedirect): no hop sends Referer. Once a hop leaves the
//     first request's origin (scheme, host and port), it and every later hop keep
//     only the headers Accept, Accept-Language and User-Agent and lose the query
//     api_key; a 307 or 308 that would send the body to another origin is an
//     *InputError. Redirects of a grant's token URL follow the same rules.
//   - AllowedDomains is checked for every request: the first, each redirect hop,
//     custom auth's auth_url and every page. The token URL of a saved OAuth2 grant
//     is set by an administrator and is not checked. CallWithin adds a second
//     list for one call (a saved connector's domains): a host must pass both.
//   - Outputs: headers maps lower-case names to text, repeated headers joined with
//     ", "; cookies maps the names set by the final response to their values; the
//     body is json, text or bytes as decodeBody describes. log is a list of objects,
//     each with a message and, for a try, try, method, url, duration_ms,
//     status_code or error, and retry_in_seconds. URLs in logs and errors never
//     show a password or a query API key.
//   - Stored files (CallOptions, given per call through the context by the
//     engine): dst writes the body of an expected answer to that file; with
//     LargeBodyFile set, a body over InlineBodyBytes goes to that file whatever the
//     status. Either way the outputs hold body_file and size instead of the body.
//   - Tokens: the access tokens a call obtains (oauth2 grants, custom auth) are
//     redacted from its outputs, error and stored bodies (binary too), in every
//     form secrets.Redactor knows, as secrets.Marker ("[redacted]").
//   - Idempotency-Key: a POST, PUT, PATCH or DELETE sends one, the same on every
//     try of the call and on every run of it (the engine gives the CONNECTION
//     execution's id in CallOptions.IdempotencyKey), so that a server that honours
//     the header acts on a call once although flowd may run it again after a
//     crash. idempotency_key false sends none, a text is the key, and a header of
//     that name in headers wins. Pages after the first add "/page-N" to the key.
//   - paginate returns json {items, pages, next}: all items, the number of pages
//     fetched, and the token of the next page when max_pages stopped it (else null).
//     A next URL on another origin is refused, so credentials stay on the API's.
package rest
