// Package migrations holds flowd's schema as ordered, append-only SQL files, one
// directory per dialect, applied at start by goose. An applied file is never edited:
// a schema change is a new file with the next number.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// SQLite returns the migrations for SQLite.
func SQLite() fs.FS { return mustSub("sqlite") }

// Postgres returns the migrations for PostgreSQL.
func Postgres() fs.FS { return mustSub("postgres") }

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directories are embedded at build time
	}
	return sub
}
