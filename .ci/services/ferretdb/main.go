// Command ferretdb runs FerretDB v1 with its SQLite backend for Character Lab's tests: a
// MongoDB wire-protocol server on one local address, keeping its data under one directory.
//
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb` builds but panics at start (the
// module ships without its generated version file), while the embeddable package works, so
// .ci/services/ferretdb.sh builds this wrapper instead.
//
// Usage: ferretdb -listen-addr 127.0.0.1:PORT -sqlite-dir DIR
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqliteDir := flag.String("sqlite-dir", "", "directory for the SQLite databases (required)")
	logLevel := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	if *sqliteDir == "" {
		fail("-sqlite-dir is required")
	}
	dir, err := filepath.Abs(*sqliteDir)
	if err != nil {
		fail(err.Error())
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		fail(err.Error())
	}

	var level slog.Level
	if err = level.UnmarshalText([]byte(*logLevel)); err != nil {
		fail(err.Error())
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		fail(err.Error())
	}

	// SIGTERM (how the tests stop it) and Ctrl-C cancel Run, which closes the listener,
	// the open connections and the SQLite files before returning.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	go func() {
		// MongoDBURI waits until the listener is bound, so this line means "ready".
		fmt.Printf("listening %s\n", f.MongoDBURI())
	}()

	if err = f.Run(ctx); err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintf(os.Stderr, "ferretdb: %s\n", message)
	os.Exit(2)
}
