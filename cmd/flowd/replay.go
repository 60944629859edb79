package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ReplayCmd replays an ended execution against its recorded responses.
type ReplayCmd struct {
	ClientFlags
	ID      string        `arg:"" help:"Id of the ended FLOW execution to replay."`
	Script  string        `type:"existingfile" help:"A script file to replay instead of the flow's latest revision (for example your edited copy)."`
	Timeout time.Duration `default:"5m" help:"How long to wait for the replay to end."`
}

// Run starts the replay, waits for it and prints its status and outputs; it fails
// unless the replay ended with success.
func (r *ReplayCmd) Run(ctx context.Context) error {
	body := map[string]any{}
	if r.Script != "" {
		b, err := os.ReadFile(r.Script)
		if err != nil {
			return err
		}
		body["script"] = string(b)
	}
	c, err := r.dial(ctx)
	if err != nil {
		return err
	}
	var exec map[string]any
	path := "/api/v1/executions/" + url.PathEscape(r.ID) + "/replay?wait=60"
	status, err := c.doStatus(ctx, http.MethodPost, path, body, &exec)
	if err != nil {
		return err
	}
	id, _ := exec["id"].(string)
	deadline := time.Now().Add(r.Timeout)
	for status != http.StatusOK && time.Now().Before(deadline) {
		wait := max(1, min(int(time.Until(deadline).Seconds()), 60))
		if status, err = c.doStatus(ctx, http.MethodGet, fmt.Sprintf("/api/v1/executions/%s?wait=%d", url.PathEscape(id), wait), nil, &exec); err != nil {
			return err
		}
	}
	if err := printJSON(exec); err != nil {
		return err
	}
	if exec["status"] != "ENDED_SUCCESS" {
		if !strings.HasPrefix(fmt.Sprint(exec["status"]), "ENDED_") {
			return fmt.Errorf("replay %s is still %v after %s; follow it with flowd logs -f %s", id, exec["status"], r.Timeout, id)
		}
		return fmt.Errorf("replay %s is %v: %v", id, exec["status"], exec["status_message"])
	}
	return nil
}
