package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowd/flowd/engine"
)

// ReconcileCounter registers flowd_executions_reconciled_total, the execution rows
// that the reconciler ended because Temporal had closed (or never started) their
// workflow, and returns the function that counts one (engine.Reconciler.Corrected).
// Call it once per Metrics; a second call panics (the metric is registered).
func (m *Metrics) ReconcileCounter() func(engine.Status) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "flowd_executions_reconciled_total",
		Help: "Execution rows ended by the reconciler because their Temporal workflow had closed (terminated, cancelled, timed out, its parent closed) or never started, by the status set.",
	}, []string{"status"})
	for _, st := range []engine.Status{engine.StatusEndedSuccess, engine.StatusEndedError, engine.StatusEndedCancelled} {
		c.WithLabelValues(string(st))
	}
	m.reg.MustRegister(c)
	return func(st engine.Status) { c.WithLabelValues(string(st)).Inc() }
}
