package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// ClientFlags are shared by the subcommands that talk to a running flowd.
type ClientFlags struct {
	URL          string `default:"http://127.0.0.1:8080" env:"FLOWD_URL" help:"Base URL of flowd."`
	ClientID     string `env:"FLOWD_CLIENT_ID" help:"API client id (printed by the first start of flowd)."`
	ClientSecret string `env:"FLOWD_CLIENT_SECRET" help:"API client secret."`
}

// apiClient is a minimal client of flowd's HTTP API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (f ClientFlags) dial(ctx context.Context) (*apiClient, error) {
	if f.ClientID == "" || f.ClientSecret == "" {
		return nil, fmt.Errorf("set FLOWD_CLIENT_ID and FLOWD_CLIENT_SECRET (or --client-id/--client-secret) to the credentials flowd printed on its first start")
	}
	c := &apiClient{base: strings.TrimRight(f.URL, "/"), http: &http.Client{Timeout: 10 * time.Minute}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body := map[string]string{"grant_type": "client_credentials", "client_id": f.ClientID, "client_secret": f.ClientSecret}
	if err := c.do(ctx, http.MethodPost, "/api/v1/auth/token", body, &tok); err != nil {
		return nil, err
	}
	c.token = tok.AccessToken
	return c, nil
}

// do sends a JSON request and decodes a JSON answer into out (when not nil). It
// returns the API's error message for non-2xx answers.
func (c *apiClient) do(ctx context.Context, method, path string, in, out any) error {
	_, err := c.doStatus(ctx, method, path, in, out)
	return err
}

func (c *apiClient) doStatus(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w (is flowd running at %s? set FLOWD_URL)", err, c.base)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			// A script error's message starts with its line and column already.
			return resp.StatusCode, fmt.Errorf("%s", e.Error.Message)
		}
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(data, out)
	}
	return resp.StatusCode, nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// PushCmd saves flows from files.
type PushCmd struct {
	ClientFlags
	Files []string `arg:"" type:"existingfile" help:"Flow scripts; each is saved under its file name without .js."`
}

func (p *PushCmd) Run(ctx context.Context) error {
	c, err := p.dial(ctx)
	if err != nil {
		return err
	}
	for _, file := range p.Files {
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		var flow struct {
			Name     string `json:"name"`
			Revision int    `json:"revision"`
		}
		if err := c.do(ctx, http.MethodPut, "/api/v1/flows/"+url.PathEscape(name), map[string]string{"script": string(src)}, &flow); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		fmt.Printf("saved %s (revision %d)\n", flow.Name, flow.Revision)
	}
	return nil
}

// RunCmd starts a flow.
type RunCmd struct {
	ClientFlags
	Flow       string            `arg:"" help:"Name of the flow."`
	Input      map[string]string `short:"i" help:"An input as key=value (the value is parsed as JSON when it is valid JSON, else taken as a string)."`
	InputsFile string            `type:"existingfile" help:"A JSON file with the inputs object."`
	Wait       bool              `help:"Wait until the execution ends and print it; exit 1 unless it ended with success."`
	Timeout    time.Duration     `default:"5m" help:"How long --wait waits."`
}

func (r *RunCmd) Run(ctx context.Context) error {
	inputs := map[string]any{}
	if r.InputsFile != "" {
		b, err := os.ReadFile(r.InputsFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &inputs); err != nil {
			return fmt.Errorf("%s must hold a JSON object: %w", r.InputsFile, err)
		}
	}
	for k, v := range r.Input {
		var j any
		if json.Unmarshal([]byte(v), &j) == nil {
			inputs[k] = j
		} else {
			inputs[k] = v
		}
	}
	c, err := r.dial(ctx)
	if err != nil {
		return err
	}
	path := "/api/v1/flows/" + url.PathEscape(r.Flow) + "/executions"
	var exec map[string]any
	if err := c.do(ctx, http.MethodPost, path, map[string]any{"inputs": inputs}, &exec); err != nil {
		return err
	}
	if !r.Wait {
		return printJSON(exec)
	}
	id, _ := exec["id"].(string)
	deadline := time.Now().Add(r.Timeout)
	for {
		wait := min(time.Until(deadline), 60*time.Second)
		status, err := c.doStatus(ctx, http.MethodGet, "/api/v1/executions/"+id+"?wait="+fmt.Sprint(int(wait.Seconds())), nil, &exec)
		if err != nil {
			return err
		}
		if status == http.StatusOK && strings.HasPrefix(fmt.Sprint(exec["status"]), "ENDED_") || time.Now().After(deadline) {
			break
		}
	}
	if err := printJSON(exec); err != nil {
		return err
	}
	if exec["status"] != "ENDED_SUCCESS" {
		return fmt.Errorf("execution %s is %v: %v", id, exec["status"], exec["status_message"])
	}
	return nil
}

// LogsCmd prints an execution's log lines.
type LogsCmd struct {
	ClientFlags
	ID     string `arg:"" help:"Execution id."`
	Follow bool   `short:"f" help:"Keep printing new lines until the execution ends."`
}

func (l *LogsCmd) Run(ctx context.Context) error {
	c, err := l.dial(ctx)
	if err != nil {
		return err
	}
	if l.Follow {
		return c.followLogs(ctx, l.ID)
	}
	var page struct {
		Items []logLine `json:"items"`
	}
	var after int64
	for {
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/executions/%s/logs?after=%d", url.PathEscape(l.ID), after), nil, &page); err != nil {
			return err
		}
		for _, line := range page.Items {
			line.print()
			after = line.Seq
		}
		if len(page.Items) < 1000 {
			return nil
		}
	}
}

type logLine struct {
	Seq     int64     `json:"seq"`
	TS      time.Time `json:"ts"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

func (l logLine) print() {
	fmt.Printf("%s %-5s %s\n", l.TS.Local().Format("15:04:05.000"), l.Level, l.Message)
}

// followLogs streams the log as server-sent events until the execution ends,
// reconnecting with Last-Event-ID when the connection drops.
func (c *apiClient) followLogs(ctx context.Context, id string) error {
	var last int64
	for failures := 0; ; {
		ended, err := c.streamOnce(ctx, id, &last)
		if ended || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ae *apiErr
			if errors.As(err, &ae) && ae.status < 500 {
				return err
			}
			if failures++; failures > 10 {
				return fmt.Errorf("following the log failed 10 times: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

type apiErr struct {
	status int
	msg    string
}

func (e *apiErr) Error() string { return e.msg }

func (c *apiClient) streamOnce(ctx context.Context, id string, last *int64) (ended bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/executions/"+url.PathEscape(id)+"/logs", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.token)
	if *last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*last, 10))
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e apiError
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &e)
		return false, &apiErr{status: resp.StatusCode, msg: e.Error.Message}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data := []byte(line[6:])
			switch event {
			case "log":
				var l logLine
				if json.Unmarshal(data, &l) == nil && l.Seq > *last {
					l.print()
					*last = l.Seq
				}
			case "status":
				var x struct {
					Status string `json:"status"`
				}
				_ = json.Unmarshal(data, &x)
				fmt.Fprintf(os.Stderr, "-- %s\n", x.Status)
			case "end":
				var x struct {
					Status        string `json:"status"`
					StatusMessage string `json:"status_message"`
				}
				_ = json.Unmarshal(data, &x)
				fmt.Fprintf(os.Stderr, "-- ended %s %s\n", x.Status, x.StatusMessage)
				return true, nil
			case "error":
				return false, fmt.Errorf("the server reported: %s", data)
			}
			event = ""
		}
	}
	return false, sc.Err()
}

// ExecutionsCmd lists executions.
type ExecutionsCmd struct {
	ClientFlags
	Flow     string `help:"Only executions of this flow."`
	Status   string `help:"Only executions with this status (e.g. ENDED_ERROR)."`
	Type     string `help:"FLOW or CONNECTION (implies --children)."`
	Children bool   `help:"Also list child executions (child flows and connector calls); by default only the runs that were started from outside."`
	Limit    int    `default:"20" help:"How many."`
}

func (e *ExecutionsCmd) Run(ctx context.Context) error {
	c, err := e.dial(ctx)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {fmt.Sprint(e.Limit)}}
	for k, v := range map[string]string{"flow": e.Flow, "status": e.Status, "type": e.Type} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !e.Children && e.Type == "" {
		q.Set("top_level", "true")
	}
	var page struct {
		Items []struct {
			ID            string    `json:"id"`
			Type          string    `json:"type"`
			Name          string    `json:"name"`
			Status        string    `json:"status"`
			StatusMessage string    `json:"status_message"`
			Trigger       string    `json:"trigger"`
			CreatedAt     time.Time `json:"created_at"`
		} `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/executions?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Fprintln(os.Stderr, "no executions match")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tTYPE\tNAME\tSTATUS\tTRIGGER\tCREATED\tMESSAGE")
	for _, x := range page.Items {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Type, x.Name, x.Status, x.Trigger, x.CreatedAt.Local().Format(time.DateTime), cell(x.StatusMessage, 80))
	}
	return w.Flush()
}

// FlowsCmd lists the saved flows.
type FlowsCmd struct {
	ClientFlags
}

func (f *FlowsCmd) Run(ctx context.Context) error {
	c, err := f.dial(ctx)
	if err != nil {
		return err
	}
	var page struct {
		Items []struct {
			Name        string    `json:"name"`
			Revision    int       `json:"revision"`
			Description string    `json:"description"`
			UpdatedAt   time.Time `json:"updated_at"`
		} `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/v1/flows", nil, &page); err != nil {
		return err
	}
	if len(page.Items) == 0 {
		fmt.Fprintln(os.Stderr, "no flows yet: save one with `flowd push file.js`")
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tREVISION\tUPDATED\tDESCRIPTION")
	for _, x := range page.Items {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", x.Name, x.Revision, x.UpdatedAt.Local().Format(time.DateTime), cell(x.Description, 60))
	}
	return w.Flush()
}

// cell makes s one line of at most n characters, for a table cell.
func cell(s string, n int) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}
