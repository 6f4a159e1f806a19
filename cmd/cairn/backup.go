package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/internal/backup"
	"github.com/cairn-registry/cairn/internal/server"
)

// adminBackup is cairn admin backup [--skip-blobs] DIR.
func adminBackup(args []string, stdout, stderr io.Writer) error {
	dir, skip, err := backupArgs("backup", args, stderr)
	if err != nil {
		return err
	}
	return withConfig(stderr, func(ctx context.Context, cfg *config.Config, opt backup.Options) error {
		opt.SkipBlobs = skip
		m, err := backup.Backup(ctx, cfg, dir, opt)
		if err != nil {
			return fmt.Errorf("admin backup: %w", err)
		}
		opt.Log.Info("backup complete", "dir", dir, "objects", len(m.Objects), "referenced_blobs", m.Referenced, "missing", len(m.Missing), "skip_blobs", m.SkipBlobs)
		fmt.Fprintln(stdout, dir)
		return nil
	})
}

// adminRestore is cairn admin restore [--skip-blobs] DIR.
func adminRestore(args []string, stdout, stderr io.Writer) error {
	dir, skip, err := backupArgs("restore", args, stderr)
	if err != nil {
		return err
	}
	return withConfig(stderr, func(ctx context.Context, cfg *config.Config, opt backup.Options) error {
		opt.SkipBlobs = skip
		m, err := backup.Restore(ctx, cfg, dir, opt)
		if err != nil {
			return fmt.Errorf("admin restore: %w", err)
		}
		opt.Log.Info("restore complete", "dir", dir, "taken_at", m.CreatedAt, "objects", len(m.Objects))
		return nil
	})
}

func backupArgs(name string, args []string, stderr io.Writer) (dir string, skipBlobs bool, err error) {
	fs := flag.NewFlagSet("admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	skip := fs.Bool("skip-blobs", false, "leave the blob store's objects out (back them up by other means, e.g. bucket replication)")
	if err := fs.Parse(args); err != nil {
		return "", false, err
	}
	if fs.NArg() != 1 {
		return "", false, fmt.Errorf("usage: cairn admin %s [--skip-blobs] DIR", name)
	}
	return fs.Arg(0), *skip, nil
}

func withConfig(stderr io.Writer, fn func(context.Context, *config.Config, backup.Options) error) error {
	cfg, err := config.Load(nil, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = fn(ctx, cfg, backup.Options{Version: version, Log: log})
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	return err
}
