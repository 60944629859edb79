package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// HealthcheckCmd probes a flowd process over HTTP, for container healthchecks: the
// flowd image has no shell or curl.
type HealthcheckCmd struct {
	URL     string        `default:"http://127.0.0.1:8080/readyz" help:"URL to GET: /readyz of an API process, or /metrics of a worker's --metrics-addr."`
	Timeout time.Duration `default:"5s" help:"How long to wait for the answer."`
}

// Run returns nil when the URL answers 2xx, else an error with the status and the
// start of the body.
func (h *HealthcheckCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("--url %q: %w", h.URL, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("unhealthy: %s answered %s: %s", h.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
