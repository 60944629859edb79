package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// TestConcurrentMigrations starts four stores at once on a new PostgreSQL database,
// as an API and its workers started together on a fresh deployment do: every one
// must open, and the schema must be applied once.
func TestConcurrentMigrations(t *testing.T) {
	base := os.Getenv("FLOWD_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("FLOWD_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	admin, err := Open(ctx, base, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("flowd_migrate_%d", time.Now().UnixNano())
	if err := admin.db.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatal(err)
	}
	defer admin.db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	var wg sync.WaitGroup
	errs := make([]error, 4)
	stores := make([]*Store, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(ctx, u.String(), t.TempDir())
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("store %d of 4 started at once: %v", i, err)
		} else {
			stores[i].Close()
		}
	}
}
