package app

import (
	"context"
	"log/slog"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/examples"
	"github.com/flowd/flowd/store"
)

// seedExamples saves the example flows on the first start of a development setup
// (embedded Temporal), so that a newcomer finds flows to run in the web UI. It never
// runs twice on one database, and never overwrites a flow.
func seedExamples(ctx context.Context, st *store.Store, log *slog.Logger) {
	first := false
	if _, err := st.ServerKey(ctx, "examples-seeded", func() (string, error) { first = true; return "yes", nil }); err != nil || !first {
		return
	}
	n := 0
	for _, ex := range examples.All() {
		if _, err := st.GetFlow(ctx, ex.Name); engine.ErrorCode(err) != engine.ENotFound {
			continue
		}
		if _, err := st.SaveFlow(ctx, ex.Name, ex.Script, "example from examples/"+ex.Name+".js", 0, ex.InputsSchema, ""); err != nil {
			log.Warn("saving an example flow failed", "flow", ex.Name, "error", err)
			continue
		}
		n++
	}
	log.Info("saved the example flows; open the web UI to run them", "flows", n)
}
