package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/flowd/flowd/engine"
)

// Metrics holds flowd's Prometheus metrics in a registry of its own (so that two
// flowd instances in one process, as in the tests, do not collide). It counts flow
// executions as the worker begins and ends them (engine.Observer), times connector
// calls (Connector) and counts HTTP requests; GET /metrics serves them with the Go
// runtime and process metrics.
type Metrics struct {
	reg       *prometheus.Registry
	began     prometheus.Counter
	ended     *prometheus.CounterVec
	connector *prometheus.HistogramVec
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	// auditFailures counts audit entries that could not be written (api/audit.go).
	auditFailures prometheus.Counter
}

var _ engine.Observer = (*Metrics)(nil)

// Handler serves the metrics in Prometheus text format (for a worker-only process,
// which has no API server; see --metrics-addr).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// QueueDepth exports depth() as flowd_task_queue_backlog: the tasks that wait for a
// worker on flowd's task queue.
func (m *Metrics) QueueDepth(depth func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flowd_task_queue_backlog",
		Help: "Approximate number of workflow and activity tasks waiting for a worker on flowd's task queue.",
	}, depth))
}

// NewMetrics returns the metrics, registered.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		began: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowd_executions_started_total",
			Help: "Flow executions that began running in this worker.",
		}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowd_executions_ended_total",
			Help: "Flow executions that ended in this worker, by final status.",
		}, []string{"status"}),
		connector: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flowd_connector_call_duration_seconds",
			Help:    "Connector calls (CONNECTION executions) by connector type and outcome, with their duration including the connector's own retries.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"connector_type", "status"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flowd_http_requests_total",
			Help: "HTTP requests to the API by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flowd_http_request_duration_seconds",
			Help:    "HTTP request duration by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "flowd_audit_write_failures_total",
			Help: "Audit log entries that could not be written after the change they record succeeded (each is logged at level ERROR).",
		}),
	}
	// Counters with known labels start at 0, so that rate() sees the first increase.
	for _, st := range []engine.Status{engine.StatusEndedSuccess, engine.StatusEndedError, engine.StatusEndedCancelled} {
		m.ended.WithLabelValues(string(st))
	}
	m.reg.MustRegister(m.began, m.ended, m.connector, m.requests, m.latency, m.auditFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ExecutionBegan counts a flow execution that began (engine.Observer).
func (m *Metrics) ExecutionBegan() { m.began.Inc() }

// ExecutionEnded counts a flow execution that ended (engine.Observer).
func (m *Metrics) ExecutionEnded(status engine.Status) { m.ended.WithLabelValues(string(status)).Inc() }

// Connector returns c timed under connector_type typ. The result also offers
// CallWithin when c does, so that the engine's use of a connector's optional methods
// works the same through it.
func (m *Metrics) Connector(typ string, c engine.Connector) engine.Connector {
	return &timedConnector{typ: typ, next: c, m: m}
}

type timedConnector struct {
	typ  string
	next engine.Connector
	m    *Metrics
}

func (t *timedConnector) Call(ctx context.Context, inputs map[string]any) (map[string]any, error) {
	start := time.Now()
	out, err := t.next.Call(ctx, inputs)
	t.observe(start, err)
	return out, err
}

// CallWithin times engine.CallConnector, which checks that the connector can limit
// its calls to domains.
func (t *timedConnector) CallWithin(ctx context.Context, inputs map[string]any, domains []string) (map[string]any, error) {
	start := time.Now()
	out, err := engine.CallConnector(ctx, t.next, inputs, domains)
	t.observe(start, err)
	return out, err
}

func (t *timedConnector) observe(start time.Time, err error) {
	status := "success"
	if err != nil {
		status = "error"
	}
	t.m.connector.WithLabelValues(t.typ, status).Observe(time.Since(start).Seconds())
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// metricsRoutes counts every request and serves GET /metrics (no authentication, as
// Prometheus scrapes expect; it shows counts and timings, no names or data). Without
// Metrics it adds nothing.
func (s *Server) metricsRoutes(e *echo.Echo) {
	if s.Metrics == nil {
		return
	}
	m := s.Metrics
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			status := c.Response().Status
			if err != nil {
				// The error handler runs after this middleware and writes the status.
				if he, ok := err.(*echo.HTTPError); ok {
					status = he.Code
				} else if code, ok := statusOf[engine.ErrorCode(err)]; ok {
					status = code
				} else {
					status = 500
				}
			}
			// The route pattern, not the path, and only known methods: a client must not
			// be able to create new series.
			route, method := c.Path(), c.Request().Method
			if !knownMethods[method] {
				method = "other"
			}
			m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			return err
		}
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})))
}
