// Package server wires a running Cairn from its configuration: database
// (external, or a private cluster it starts), migrations, blob store, TLS and
// the HTTP server. cmd/cairn and the end-to-end tests both start it here.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/config"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/handlers"
	"github.com/cairn-registry/cairn/handlers/health"
	"github.com/cairn-registry/cairn/handlers/ui"
	"github.com/cairn-registry/cairn/internal/metrics"
	"github.com/cairn-registry/cairn/internal/outbound"
	"github.com/cairn-registry/cairn/internal/pgcluster"
	"github.com/cairn-registry/cairn/internal/tlsca"
	"github.com/cairn-registry/cairn/jobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/providers"
	"github.com/cairn-registry/cairn/queries"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// blobSweepInterval is how often unreferenced module blobs are swept.
const blobSweepInterval = 15 * time.Minute

// embeddedDB is the database Cairn creates in its private cluster.
const embeddedDB = "cairn"

// Server is a started Cairn.
type Server struct {
	Config   *config.Config
	Pool     *pgxpool.Pool
	Blobs    blobs.Store
	Log      *slog.Logger
	URL      string // base URL actually served (PublicURL with the bound port)
	CAPath   string // generated CA clients should trust, if any
	Listener net.Listener
	// Metrics is what the server records; nil when CAIRN_METRICS_LISTEN is
	// off. MetricsURL is then empty, else http://<bound address>/metrics.
	Metrics    *metrics.Metrics
	MetricsURL string

	Enforcer  *policies.Enforcer
	Resolver  *tokens.Resolver
	Users     *users.Service
	Projects  *projects.Service
	Tokens    *tokens.Service
	Modules   *modules.Service
	Providers *providers.Service
	Audit     *audit.Service
	// Jobs is the durable job queue; Imports imports module versions
	// from git (run as jobs).
	Jobs    *jobs.Queue
	Imports *gitimport.Service

	cluster    *pgcluster.Cluster
	http       *http.Server
	served     chan error
	stopFollow context.CancelFunc
	// sessionStore cleans expired browser sessions until stopped.
	sessionStore interface{ StopCleanup() }
	// counterDone closes once buffered download counts are flushed.
	counterDone chan struct{}
	// sweepDone closes once the blob sweeper has stopped.
	sweepDone chan struct{}
	// jobsDone closes once the job worker has stopped.
	jobsDone chan struct{}

	metricsListener net.Listener
	metricsHTTP     *http.Server
}

// Database is an open, migrated database (and the private cluster behind it,
// if Cairn started one).
type Database struct {
	URL     string
	Cluster *pgcluster.Cluster
}

// Close stops the private cluster, if any.
func (d *Database) Close() {
	if d.Cluster != nil {
		d.Cluster.Stop()
	}
}

// OpenDatabase returns the configured database URL, starting the private
// cluster under $CAIRN_DATA_DIR/postgres when none is configured, and
// applies pending migrations.
func OpenDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger) (*Database, error) {
	db := &Database{URL: cfg.DatabaseURL}
	if db.URL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("CAIRN_DATA_DIR: %w", err)
		}
		logf, err := os.OpenFile(filepath.Join(cfg.DataDir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, fmt.Errorf("CAIRN_DATA_DIR: %w", err)
		}
		log.Info("starting embedded PostgreSQL", "dir", cfg.PostgresDir(), "log", logf.Name())
		c, err := pgcluster.Start(ctx, pgcluster.Options{Dir: cfg.PostgresDir(), BinDir: cfg.PGBin, Log: logf})
		if err != nil {
			logf.Close()
			return nil, err
		}
		db.Cluster = c
		if err := createDatabase(ctx, c.URL("postgres"), embeddedDB); err != nil {
			db.Close()
			return nil, err
		}
		db.URL = c.URL(embeddedDB)
	}
	n, err := queries.Migrate(ctx, db.URL)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 {
		log.Info("applied database migrations", "count", n)
	}
	return db, nil
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

// OpenBlobs opens the configured blob store.
func OpenBlobs(ctx context.Context, cfg *config.Config) (blobs.Store, error) {
	switch cfg.Storage {
	case config.StorageS3:
		s, err := blobs.NewS3(ctx, blobs.S3Config{
			Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, Region: cfg.S3.Region,
			AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey, UseTLS: cfg.S3.UseTLS, Presign: cfg.S3.Presign,
		})
		if err != nil {
			return nil, fmt.Errorf("CAIRN_STORAGE=s3: %w", err)
		}
		return s, nil
	default:
		return blobs.NewFS(cfg.BlobDir())
	}
}

// NewLogger builds the process logger from the configuration.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Start brings every part up and begins serving. Call Shutdown to stop.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Server, err error) {
	s := &Server{Config: cfg, Log: log, served: make(chan error, 1)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("CAIRN_LISTEN=%s: %w", cfg.Listen, err)
	}
	s.Listener = ln
	s.URL = servedURL(cfg, ln.Addr())
	if err := s.listenMetrics(); err != nil {
		return nil, err
	}

	db, err := OpenDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s.cluster = db.Cluster
	poolCfg, err := pgxpool.ParseConfig(db.URL)
	if err != nil {
		return nil, fmt.Errorf("CAIRN_DATABASE_URL: %w", err)
	}
	if !strings.Contains(db.URL, "pool_max_conns") {
		// pgx's default (max(4, CPUs)) is too small: each notification
		// follower holds a connection for good, and a 2-CPU host would be
		// left with none for requests.
		poolCfg.MaxConns = max(poolCfg.MaxConns, 32)
	}
	if _, set := poolCfg.ConnConfig.RuntimeParams["jit"]; !set && !strings.Contains(db.URL, "jit") {
		// Cairn's queries are short lookups; at 100k modules the planner's
		// cost estimate of the module lookup crosses jit_above_cost and
		// PostgreSQL spent ~1 s compiling it per call (EXPLAIN ANALYZE in
		// make bench-scale). A URL or options setting jit wins.
		poolCfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	if s.Pool, err = pgxpool.NewWithConfig(ctx, poolCfg); err != nil {
		return nil, fmt.Errorf("database pool: %w", err)
	}
	s.Metrics.ObservePool(s.Pool.Stat)
	if s.Blobs, err = OpenBlobs(ctx, cfg); err != nil {
		return nil, err
	}
	if s.Metrics != nil {
		s.Blobs = blobs.Observed(s.Blobs, s.Metrics.ObserveBlob)
	}
	if s.Enforcer, err = policies.NewEnforcer(log.With("component", "policies")); err != nil {
		return nil, err
	}
	followCtx, stopFollow := context.WithCancel(context.Background())
	s.stopFollow = stopFollow
	if s.cluster != nil {
		// The embedded server is restarted if it dies; if it cannot be,
		// Done reports it so the process exits instead of living on
		// unable to serve.
		failed := s.cluster.Supervise(followCtx, log.With("component", "pgcluster"))
		go func() {
			select {
			case err := <-failed:
				s.fail(fmt.Errorf("embedded PostgreSQL: %w", err))
			case <-followCtx.Done():
			}
		}()
	}
	followReady := make(chan struct{})
	go s.Enforcer.Follow(followCtx, s.Pool, followReady)
	select {
	case <-followReady:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(60 * time.Second):
		return nil, errors.New("could not load memberships within 60s")
	}
	allow, err := outbound.ParseAllow(cfg.OutboundAllow)
	if err != nil {
		return nil, fmt.Errorf("CAIRN_OUTBOUND_ALLOW: %w", err)
	}
	s.Projects = projects.New(s.Pool, s.Enforcer)
	sweeper := modules.NewSweeper(s.Pool, s.Blobs, log.With("component", "blob-sweeper"))
	s.Projects.OnBlobsOrphaned(sweeper.Remove)
	authz := s.Projects.Authorizer()
	s.Resolver = tokens.NewResolver(s.Pool, tokens.NewJobVerifier(outbound.New(allow), allow, log.With("component", "job-tokens")))
	s.Resolver.ObserveCache(s.Metrics.CacheObserver("credentials"))
	go s.Resolver.Follow(followCtx, s.Pool, log.With("component", "credentials-cache"))
	s.Users = users.New(s.Pool, s.Enforcer)
	s.Users.OnCredentialsChanged(s.Resolver.Forget)
	s.Tokens = tokens.NewService(s.Pool, authz, s.Resolver)
	s.Audit = audit.New(s.Pool, authz)
	signer, err := tokens.OpenDownloadSigner(ctx, s.Pool)
	if err != nil {
		return nil, err
	}
	go signer.Follow(followCtx, s.Pool, log.With("component", "download-signer"))
	s.Modules = modules.New(s.Pool, s.Blobs, s.Projects, modules.NewLinks(signer, s.URL), cfg.MaxUploadBytes)
	s.Modules.ObserveLookups(s.Metrics.CacheObserver("module_lookups"))
	s.Modules.SetTerraregAutoPublish(cfg.TerraregAutoPublish)
	for i, g := range cfg.GitProviders {
		s.Modules.SetGitProviders(append(s.Modules.GitProviders(), modules.GitProvider{ID: int64(i + 1), Name: g.Name,
			BaseURL: g.BaseURL, CloneURL: g.CloneURL, BrowseURL: g.BrowseURL, GitPath: g.GitPath}))
	}
	go s.Modules.Follow(followCtx, s.Pool, log.With("component", "module-lookups-cache"))
	s.Providers = providers.New(s.Pool, s.Blobs, s.Projects, signer, s.URL, cfg.MaxUploadBytes)
	s.Providers.SetModules(s.Modules)
	s.Providers.ObserveLookups(s.Metrics.CacheObserver("provider_lookups"))
	go s.Providers.Follow(followCtx, s.Pool, log.With("component", "provider-lookups-cache"))
	go s.Providers.RunSweeper(followCtx, blobSweepInterval, log.With("component", "provider-blob-sweeper"))
	s.sweepDone = make(chan struct{})
	go func() {
		defer close(s.sweepDone)
		sweeper.Run(followCtx, blobSweepInterval)
	}()
	s.Jobs = jobs.New(s.Pool)
	if s.Imports, err = gitimport.New(s.Pool, s.Modules, s.Projects, s.Jobs, allow, cfg.SecretKey, log.With("component", "git-import")); err != nil {
		return nil, err
	}
	s.jobsDone = make(chan struct{})
	go func() {
		defer close(s.jobsDone)
		s.Jobs.Run(followCtx, log.With("component", "jobs"))
	}()
	s.counterDone = make(chan struct{})
	go func() {
		defer close(s.counterDone)
		analyticsDone := make(chan struct{})
		go func() {
			defer close(analyticsDone)
			s.Modules.RunAnalytics(followCtx, 5*time.Second, log.With("component", "analytics"))
		}()
		s.Modules.RunCounter(followCtx, 5*time.Second, log.With("component", "download-counter"))
		<-analyticsDone
	}()

	var tlsCfg *tls.Config
	if !cfg.Insecure {
		var cert tls.Certificate
		if cfg.TLSCert != "" {
			if cert, err = tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
				return nil, fmt.Errorf("CAIRN_TLS_CERT/CAIRN_TLS_KEY: %w", err)
			}
		} else {
			m, err := tlsca.Ensure(cfg.TLSDir(), certHosts(s.URL), time.Now())
			if err != nil {
				return nil, fmt.Errorf("generate TLS certificate in %s: %w", cfg.TLSDir(), err)
			}
			cert, s.CAPath = m.Cert, m.CAPath
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}

	sessions, sessionStore := ui.NewSessions(s.Pool, cfg.Identity, strings.HasPrefix(s.URL, "https://"))
	s.sessionStore = sessionStore
	var sso *ui.SSO
	if cfg.Identity.OIDC.Enabled() {
		sso = &ui.SSO{Config: cfg.Identity.OIDC, RedirectURL: s.URL + "/openid/callback", Client: outbound.New(allow)}
	}
	handler := handlers.New(handlers.Deps{
		Sessions:       sessions,
		TrustedProxies: cfg.TrustedProxies,
		Identity:       cfg.Identity,
		SSO:            sso,
		Log:            log,
		PublicURL:      s.URL,
		Ready:          map[string]health.Pinger{"database": poolPinger{s.Pool}, "blobs": s.Blobs},
		Resolver:       s.Resolver,
		Users:          s.Users,
		Projects:       s.Projects,
		Tokens:         s.Tokens,
		Modules:        s.Modules,
		Providers:      s.Providers,
		Audit:          s.Audit,
		Config:         cfg,
		Imports:        s.Imports,
		Metrics:        s.Metrics,
	})
	s.http = &http.Server{
		Handler:           handler,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// Body and response deadlines are set per request, suited to the
		// route, by middleware.Deadlines (a minimum rate for uploads and
		// downloads): none here.
		ReadTimeout:    0,
		WriteTimeout:   0,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		var err error
		if tlsCfg != nil {
			err = s.http.ServeTLS(ln, "", "")
		} else {
			err = s.http.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.fail(err)
	}()
	s.serveMetrics()
	return s, nil
}

// Bootstrap creates the administrator username if absent (it must
// otherwise be an active administrator) and mints them a new api-scoped
// personal access token.
func (s *Server) Bootstrap(ctx context.Context, username string) (users.User, string, error) {
	return Bootstrap(ctx, s.Pool, s.Enforcer, username)
}

// Bootstrap is cairn admin bootstrap on an open database.
func Bootstrap(ctx context.Context, pool *pgxpool.Pool, enf *policies.Enforcer, username string) (users.User, string, error) {
	u, err := users.New(pool, enf).EnsureAdmin(ctx, username)
	if err != nil {
		return u, "", err
	}
	tok, err := tokens.NewService(pool, policies.NewAuthorizer(enf), nil).Bootstrap(ctx, users.System, u.ID)
	return u, tok, err
}

// Done delivers the serve loop's error when it stops on its own, or the
// error that makes the server unable to go on (its embedded PostgreSQL
// could not be restarted).
func (s *Server) Done() <-chan error { return s.served }

// fail reports the first reason the server stops on its own.
func (s *Server) fail(err error) {
	select {
	case s.served <- err:
	default:
	}
}

// Shutdown stops accepting requests, lets in-flight ones finish (until ctx
// ends), then closes the pool and stops the private cluster.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	if s.http != nil {
		err = s.http.Shutdown(ctx)
	}
	err = errors.Join(err, s.shutdownMetrics(ctx))
	s.close()
	return err
}

func (s *Server) close() {
	if s.sessionStore != nil {
		s.sessionStore.StopCleanup()
	}
	if s.http == nil && s.Listener != nil {
		s.Listener.Close()
	}
	if s.metricsHTTP == nil && s.metricsListener != nil {
		s.metricsListener.Close()
	}
	if s.stopFollow != nil {
		s.stopFollow()
	}
	if s.counterDone != nil {
		<-s.counterDone
	}
	if s.sweepDone != nil {
		<-s.sweepDone
	}
	if s.jobsDone != nil {
		<-s.jobsDone
	}
	if s.Pool != nil {
		s.Pool.Close()
	}
	if s.cluster != nil {
		s.cluster.Stop()
	}
}

// servedURL is PublicURL, except that when PublicURL was derived from the
// listen address the real bound port (for ":0") replaces the configured one.
func servedURL(cfg *config.Config, addr net.Addr) string {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil {
		return cfg.PublicURL
	}
	_, cfgPort, _ := net.SplitHostPort(cfg.Listen)
	if u.Port() == cfgPort && cfgPort == "0" {
		if tcp, ok := addr.(*net.TCPAddr); ok {
			u.Host = net.JoinHostPort(u.Hostname(), fmt.Sprint(tcp.Port))
		}
	}
	return u.String()
}

func certHosts(publicURL string) []string {
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		return []string{u.Hostname()}
	}
	return nil
}

type poolPinger struct{ pool *pgxpool.Pool }

func (p poolPinger) Ping(ctx context.Context) error {
	_, err := queries.New(p.pool).Ping(ctx)
	return err
}
