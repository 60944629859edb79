// Command flowd runs the flowd workflow engine (`flowd` or `flowd serve`) and talks to
// a running one as an API client (`flowd push`, `run`, `logs`, `executions`, `flows`, `replay`). This
// package only wires the others together.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/sandbox"
)

// CLI is the command line. Every flag of serve has an environment variable.
type CLI struct {
	Serve       ServeCmd       `cmd:"" default:"withargs" help:"Run the API, the web UI, a worker and (unless --temporal-address is set) an embedded Temporal server. The default command: plain 'flowd' serves."`
	Push        PushCmd        `cmd:"" help:"Save flows from .js files, each named after its file."`
	Run         RunCmd         `cmd:"" help:"Start a flow."`
	Logs        LogsCmd        `cmd:"" help:"Print an execution's log lines."`
	Executions  ExecutionsCmd  `cmd:"" help:"List executions, newest first (the runs started from outside; --children for all)."`
	Flows       FlowsCmd       `cmd:"" help:"List the saved flows."`
	Replay      ReplayCmd      `cmd:"" help:"Replay an ended execution: run its flow's script (or --script) against the responses it recorded, calling no service."`
	Healthcheck HealthcheckCmd `cmd:"" help:"Exit 0 when a flowd process answers its health URL, 1 otherwise (for container healthchecks)."`
}

func main() {
	if sandbox.IsChild() {
		// Started by a worker to run scripts (when no flowd-sandbox program is
		// installed beside flowd).
		sandbox.ServeChild()
	}
	var cli CLI
	kctx := kong.Parse(&cli,
		kong.Name("flowd"),
		kong.Description("flowd: durable JavaScript flows for API automation, on Temporal."),
		kong.UsageOnError(),
		kong.Vars{"default_task_queue": engine.DefaultTaskQueue},
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	kctx.BindTo(ctx, (*context.Context)(nil))
	if err := kctx.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "flowd:", oneLine(err.Error()))
		os.Exit(1)
	}
}

// oneLine joins the lines of an error message (pgx gives one per address it tried),
// so that a failure is one line in the log.
func oneLine(msg string) string {
	lines := strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.Trim(lines[i], " \t:")
	}
	return strings.Join(lines, "; ")
}
