// Package examples holds the example flows, embedded so that the first start of a
// development setup can offer them in the web UI. Each runs as it is in e2e tests.
package examples

import (
	"embed"
	"io/fs"
	"path"
	"strings"
)

//go:embed *.js
var files embed.FS

// Flow is one example: its name (the file name without .js) and script.
type Flow struct {
	Name   string
	Script string
}

// All returns the examples in name order.
func All() []Flow {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	var out []Flow
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		out = append(out, Flow{Name: strings.TrimSuffix(e.Name(), path.Ext(e.Name())), Script: string(b)})
	}
	return out
}
