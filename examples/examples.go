// Package examples holds the example flows, embedded so that the first start of a
// development setup can offer them in the web UI. Each runs as it is in e2e tests.
package examples

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"strings"
)

// Each example is <name>.js with its inputs declared beside it in <name>.schema.json
// (the flow's inputs_schema).
//
//go:embed *.js *.schema.json
var files embed.FS

// Flow is one example: its name (the file name without .js), script and inputs_schema
// (nil when it has no <name>.schema.json).
type Flow struct {
	Name         string
	Script       string
	InputsSchema json.RawMessage
}

// All returns the examples in name order.
func All() []Flow {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err) // cannot happen: the directory is embedded
	}
	var out []Flow
	for _, e := range entries {
		if path.Ext(e.Name()) != ".js" {
			continue
		}
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(e.Name(), ".js")
		f := Flow{Name: name, Script: string(b)}
		if s, err := files.ReadFile(name + ".schema.json"); err == nil {
			f.InputsSchema = s
		} else if !errors.Is(err, fs.ErrNotExist) {
			panic(err)
		}
		out = append(out, f)
	}
	return out
}
