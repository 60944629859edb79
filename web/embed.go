// Package web holds flowd's web UI: a single-page app built from web/src
// with Vite into web/dist, which is committed and embedded here (the run
// time has no Node). Rebuild with `npm ci && npm run build` in web/, and
// check with `sh web/check-fresh.sh` that the committed dist is current.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Assets returns the built UI with index.html at its root. Serve it at "/"
// and answer unknown non-API paths with index.html (the UI uses hash routes).
func Assets() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: "dist" is a valid, embedded path
	}
	return sub
}
