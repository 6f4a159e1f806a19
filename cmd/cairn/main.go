// Command cairn is the Cairn private Terraform registry.
//
//	cairn serve      start the registry (embedded PostgreSQL and TLS by default)
//	cairn migrate    apply database migrations and exit
//	cairn admin bootstrap --username NAME
//	                 create the first administrator; print an API token
//	cairn admin rotate-signing-key
//	                 new download-URL signing key; print its id
//	cairn admin backup DIR / cairn admin restore DIR
//	                 back up (database dump + blobs), restore into empty stores
//	cairn version    print the version
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/memlimit"
	"github.com/cairn-registry/cairn/internal/server"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "cairn:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: cairn <command> [flags]

commands:
  serve     start the registry
  migrate   apply database migrations and exit
  admin bootstrap --username NAME [--password-stdin]
            create the first site administrator (if absent) and print a new
            personal access token with api scope, alone on stdout
  admin set-password NAME
            set a user's password for signing in to the web UI, read from
            standard input
  admin rotate-signing-key
            add a new download-URL signing key (running replicas pick it up;
            older keys verify until their links expire) and print its id
  admin backup [--skip-blobs] DIR
            copy the database (pg_dump, a consistent snapshot; safe while
            Cairn runs) and the blob store's objects into DIR (new or empty)
  admin restore [--skip-blobs] DIR
            load a backup into the (empty) database and blob store the
            current CAIRN_* settings name; creates the embedded cluster
  publish provider|module ...
            upload a provider release or a module (see "cairn publish")
  version   print the version

Every flag has a CAIRN_* environment variable; see "cairn serve -h".
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "migrate":
		return migrate(args[1:], stderr)
	case "admin":
		return admin(args[1:], os.Stdin, stdout, stderr)
	case "publish":
		return publishCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "cairn", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func serve(args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(args, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	if limit, from := memlimit.Apply("/sys/fs/cgroup"); limit > 0 && limit < math.MaxInt64 {
		log.Info("Go memory limit", "bytes", limit, "from", from)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	srv, err := server.Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("cairn is ready", "url", srv.URL, "version", version)
	printWelcome(stdout, srv)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-srv.Done():
		if err != nil {
			log.Error("server stopped", "error", err)
		}
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shutdown: %w", serr)
	}
	if err != nil {
		// A supervisor restarts a process that exits non-zero.
		return err
	}
	log.Info("stopped")
	return nil
}

func printWelcome(w io.Writer, srv *server.Server) {
	fmt.Fprintf(w, "\nCairn is running at %s\n", srv.URL)
	if srv.CAPath != "" {
		fmt.Fprintf(w, `
It serves HTTPS with a certificate from a local CA generated for this machine:
  %[1]s
Trust it from the command line and from terraform with:
  curl --cacert %[1]s %[2]s/readyz
  export SSL_CERT_FILE=%[1]s
`, srv.CAPath, srv.URL)
	}
	fmt.Fprintf(w, `
Create the first administrator with a password for the web UI (prints an API token):
  printf '%%s\n' 'choose-a-long-password' | bin/cairn admin bootstrap --username admin --password-stdin
Then sign in at %s/login
`, srv.URL)
	if u, err := url.Parse(srv.URL); err == nil {
		host := u.Host
		if u.Hostname() == "localhost" {
			// Terraform wants a dot in a registry host name.
			host = strings.Replace(host, "localhost", "127.0.0.1", 1)
		}
		fmt.Fprintf(w, `
Use it from terraform (README: "Using modules from Terraform"):
  module "example" { source = "%s/<group>/<name>/<system>" }
  credentials "%s" { token = "<token>" }   # in ~/.terraformrc
`, host, host)
	}
	fmt.Fprintln(w)
}

func migrate(args []string, stderr io.Writer) error {
	cfg, err := config.Load(args, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := server.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	db.Close()
	log.Info("database is up to date")
	return nil
}

func admin(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "rotate-signing-key" {
		return rotateSigningKey(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "set-password" {
		return setPassword(args[1:], stdin, stderr)
	}
	if len(args) > 0 && args[0] == "backup" {
		return adminBackup(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "restore" {
		return adminRestore(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "bootstrap" {
		return errors.New("usage: cairn admin bootstrap --username NAME [--password-stdin] | cairn admin set-password NAME | cairn admin rotate-signing-key | cairn admin backup [--skip-blobs] DIR | cairn admin restore DIR")
	}
	fs := flag.NewFlagSet("admin bootstrap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "", "administrator's user name")
	passwordStdin := fs.Bool("password-stdin", false, "read the administrator's password (for signing in to the web UI) from standard input")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return errors.New("admin bootstrap: --username is required")
	}
	var password string
	if *passwordStdin {
		var err error
		if password, err = readPassword(stdin); err != nil {
			return fmt.Errorf("admin bootstrap: %w", err)
		}
	}
	cfg, err := config.Load(nil, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := server.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	enf, err := policies.NewEnforcer(log)
	if err != nil {
		return err
	}
	u, token, err := server.Bootstrap(ctx, pool, enf, *username)
	if err != nil {
		return fmt.Errorf("admin bootstrap: %w", err)
	}
	if password != "" {
		if _, err := users.New(pool, enf).SetPassword(ctx, u.Username, password); err != nil {
			return fmt.Errorf("admin bootstrap: %s", errMessage(err))
		}
		log.Info("administrator's password set; sign in at /login", "username", u.Username)
	}
	log.Info("administrator ready; the new personal access token is on stdout", "username", u.Username, "user_id", u.ID)
	fmt.Fprintln(stdout, token)
	return nil
}

// readPassword reads one line (a password) from r.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}

// errMessage is the human message of a domain error.
func errMessage(err error) string {
	if m := errs.Message(err); m != "" {
		return m
	}
	return err.Error()
}

// setPassword is cairn admin set-password NAME: the new password comes from
// standard input (never an argument, which other users could see).
func setPassword(args []string, stdin io.Reader, stderr io.Writer) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return errors.New("usage: cairn admin set-password NAME   (the password is read from standard input)")
	}
	password, err := readPassword(stdin)
	if err != nil {
		return fmt.Errorf("admin set-password: %w", err)
	}
	cfg, err := config.Load(nil, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := server.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	enf, err := policies.NewEnforcer(log)
	if err != nil {
		return err
	}
	u, err := users.New(pool, enf).SetPassword(ctx, args[0], password)
	if err != nil {
		return fmt.Errorf("admin set-password: %s", errMessage(err))
	}
	log.Info("password set", "username", u.Username)
	return nil
}

// rotateSigningKey is cairn admin rotate-signing-key: a new download-URL
// signing key, picked up by every running replica without a restart; keys
// whose tokens have all expired are retired. The new key id is printed.
func rotateSigningKey(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin rotate-signing-key", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("usage: cairn admin rotate-signing-key")
	}
	cfg, err := config.Load(nil, nil)
	if err != nil {
		return err
	}
	log := server.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	db, err := server.OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	id, retired, err := tokens.RotateSigningKey(ctx, pool)
	if err != nil {
		return fmt.Errorf("admin rotate-signing-key: %w", err)
	}
	log.Info("download signing key rotated; the new key id is on stdout", "key_id", id, "retired_keys", retired)
	fmt.Fprintln(stdout, id)
	return nil
}
