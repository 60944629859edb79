package rest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// TestLargeBodyFile: with CallOptions.LargeBodyFile, a body too large for the
// outputs is stored in that file and the outputs carry body_file and size.
func TestLargeBodyFile(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 5<<20/16) // 5 MiB of text
	base := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write(big)
		case "/binary": // 900 bytes, 1200 as base64
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(bytes.Repeat([]byte{0, 1, 2}, 300))
		case "/small":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok": true}`))
		case "/bigerror":
			w.WriteHeader(http.StatusBadRequest)
			w.Write(big)
		}
	})
	tests := []struct {
		name     string
		path     string
		wantFile bool
		wantSize int
		wantErr  string
	}{
		{"Large", "/big", true, len(big), ""},
		{"BinaryCountsAsBase64", "/binary", true, 900, ""},
		{"Small", "/small", false, 0, ""},
		{"LargeUnexpectedStatus", "/bigerror", true, len(big), "answered 400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := &memFiles{}
			ctx := rest.WithCallOptions(context.Background(), rest.CallOptions{Files: files, LargeBodyFile: "response-1", InlineBodyBytes: 1000})
			out, err := (&rest.Connector{}).Call(ctx, map[string]any{"url": base + tt.path})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !tt.wantFile {
				if _, ok := out["body_file"]; ok || out["json"] == nil || len(files.files) > 0 {
					t.Fatalf("small body: outputs %v, files %v", out, files.files)
				}
				return
			}
			for _, k := range []string{"json", "text", "bytes"} {
				if _, ok := out[k]; ok {
					t.Errorf("output %s is set, want the body only in the file", k)
				}
			}
			if out["body_file"] != "response-1" || out["size"] != tt.wantSize || len(files.files["response-1"]) != tt.wantSize {
				t.Errorf("body_file %v size %v, stored %d bytes; want response-1 and %d", out["body_file"], out["size"], len(files.files["response-1"]), tt.wantSize)
			}
			msg, _ := out["message"].(string)
			WantContains(t, msg, `stored file "response-1"`, "system.file(")
			if out["status_code"] == nil || out["headers"] == nil {
				t.Errorf("status_code and headers missing: %v", out)
			}
			var se *rest.StatusError
			if tt.wantErr != "" && !errors.As(err, &se) {
				t.Errorf("err = %T, want a *StatusError inside", err)
			}
		})
	}
	t.Run("NoFilesKeepsBody", func(t *testing.T) {
		// Without stored files there is nowhere to put it: the body stays (up to MaxBodyBytes).
		ctx := rest.WithCallOptions(context.Background(), rest.CallOptions{LargeBodyFile: "response-1", InlineBodyBytes: 1000})
		out, err := (&rest.Connector{}).Call(ctx, map[string]any{"url": base + "/big"})
		if err != nil || len(out["text"].(string)) != len(big) {
			t.Fatalf("err %v, text of %d bytes", err, len(out["text"].(string)))
		}
	})
	t.Run("OptionsFilesForDst", func(t *testing.T) {
		files := &memFiles{}
		ctx := rest.WithCallOptions(context.Background(), rest.CallOptions{Files: files})
		out, err := (&rest.Connector{}).Call(ctx, map[string]any{"url": base + "/small", "dst": "small.json"})
		if err != nil || string(files.files["small.json"]) != `{"ok": true}` || out["body_file"] != "small.json" || out["size"] != 12 {
			t.Fatalf("err %v, outputs %v, files %v", err, out, files.files)
		}
	})
}
