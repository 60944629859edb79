package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// Caps on what a request may carry before any handler runs, so that a caller without
// credentials cannot make the server hold much memory.
const (
	// MaxHeaderBytes caps the request line and headers (http.Server.MaxHeaderBytes;
	// Go adds 4 KiB of slack). Larger requests get 431 from net/http itself.
	MaxHeaderBytes = 64 << 10
	// maxURL caps the request target (path and query): 414 above it, the limit
	// common proxies apply to a request line.
	maxURL = 8 << 10
)

// Content-Security-Policy of the web UI: its own scripts, API and images only
// (data: for the editor's icons), no inline script or eval, never framed. Inline
// styles are allowed: the editor (CodeMirror) writes its theme into <style>
// elements, which a nonce could cover only by changing the UI to read one. With
// scripts, images, fonts and connections held to the origin, an injected style
// can change how the page looks but not run code or send data elsewhere.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// apiCSP is the policy of every other response, webhook replies included: nothing
// loads, and a document (a flow's text/html reply opened in a browser) is sandboxed,
// so that it runs no script and has an opaque origin, not the web UI's.
const apiCSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox"

// securityHeaders sets the headers every response carries. The web UI's handler
// replaces the policy with uiCSP.
func securityHeaders() echo.MiddlewareFunc {
	return middleware.SecureWithConfig(middleware.SecureConfig{
		ContentTypeNosniff:    "nosniff",
		XFrameOptions:         "DENY",
		ContentSecurityPolicy: apiCSP,
		ReferrerPolicy:        "no-referrer",
	})
}

// limitURL answers 414 to a request target longer than maxURL.
func limitURL(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if len(c.Request().RequestURI) > maxURL {
			return c.JSON(http.StatusRequestURITooLong, errorBody{Error: errorDetail{Code: "too_large",
				Message: fmt.Sprintf("the URL is longer than %d KiB; send long values in the request body", maxURL>>10)}})
		}
		return next(c)
	}
}

// replyHeaderAllowed reports whether a webhook's flow may set the (lower-case)
// header in its reply. Not: cookies, CORS and the other headers that grant or
// change what the web UI's origin allows, and flowd's own security and X-Flowd-
// headers.
func replyHeaderAllowed(lk string) bool {
	switch lk {
	case "set-cookie", "set-cookie2", "clear-site-data",
		"content-security-policy", "content-security-policy-report-only", "x-frame-options",
		"x-content-type-options", "referrer-policy", "strict-transport-security", "permissions-policy",
		"origin-agent-cluster", "service-worker-allowed", "timing-allow-origin", "alt-svc",
		"x-permitted-cross-domain-policies", "x-xss-protection",
		"refresh": // a timed redirect from the UI's origin; a flow that redirects uses status_code 3xx and Location
		return false
	}
	for _, prefix := range []string{"access-control-", "cross-origin-", "x-flowd-"} {
		if strings.HasPrefix(lk, prefix) {
			return false
		}
	}
	return true
}

// replyContentType reports whether a webhook's flow may answer with this
// Content-Type. Not with script or style sheet types: the web UI's policy lets it
// load scripts and styles from its own origin, which the webhook URLs share, and
// with nosniff a browser runs a script or applies a style sheet only under these.
// Every comma-separated part is checked, as browsers may take the last one.
func replyContentType(ct string) bool {
	for _, part := range strings.Split(ct, ",") {
		mt, _, _ := strings.Cut(part, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		switch mt {
		case "text/css", "application/ecmascript", "application/javascript", "application/x-ecmascript",
			"application/x-javascript", "text/ecmascript", "text/javascript", "text/jscript", "text/livescript",
			"text/x-ecmascript", "text/x-javascript", "application/wasm":
			return false
		}
		if strings.HasPrefix(mt, "text/javascript1.") { // text/javascript1.0 to 1.5
			return false
		}
	}
	return true
}
