// Package config loads Cairn's configuration from CAIRN_* environment
// variables (command-line flags may override them) and validates it once, at
// start, with errors that name the variable at fault.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-registry/cairn/internal/outbound"
)

// Storage backends.
const (
	StorageFS = "fs"
	StorageS3 = "s3"
)

// Config is every setting Cairn reads. The README's configuration table lists
// the same variables with the same defaults.
type Config struct {
	// DataDir holds the embedded PostgreSQL cluster, the filesystem blob
	// store and the generated TLS material.
	DataDir string
	// Listen is the address the HTTPS (or HTTP) server binds.
	Listen string
	// PublicURL is the externally visible base URL, without a trailing slash.
	PublicURL string
	// DatabaseURL points at an external PostgreSQL; empty means embedded.
	DatabaseURL string
	// PGBin is the directory holding initdb and postgres for the embedded
	// cluster; empty means search PATH and the usual install locations.
	PGBin string

	Storage string
	S3      S3Config

	// TLSCert and TLSKey are PEM files; both empty means a generated local CA.
	TLSCert string
	TLSKey  string
	// Insecure serves plain HTTP (behind a TLS-terminating proxy).
	Insecure bool

	LogLevel  slog.Level
	LogFormat string

	// MaxUploadBytes caps one uploaded archive.
	MaxUploadBytes int64

	// OutboundAllow is the raw CAIRN_OUTBOUND_ALLOW list (validated with
	// outbound.ParseAllow) of loopback or private hosts Cairn may fetch from.
	OutboundAllow string

	// MetricsListen is the host:port of the separate plain-HTTP listener
	// serving /metrics; empty means no metrics listener.
	MetricsListen string

	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (rate limits and logs use the client address).
	TrustedProxies []string

	// Identity: browser sessions, password sign-in, OIDC single sign-on
	// and terraform login.
	Identity Identity

	// TerraregAutoPublish publishes versions uploaded through Terrareg's
	// upload path at once (Terrareg's AUTO_PUBLISH_MODULE_VERSIONS).
	TerraregAutoPublish bool

	// GitProviders (CAIRN_GIT_PROVIDERS) are Terrareg's git providers
	// (GIT_PROVIDER_CONFIG): a JSON list, in order (ids count from 1).
	GitProviders []GitProvider

	// SecretKey (CAIRN_SECRET_KEY, decoded; nil when unset) seals secrets
	// stored in the database: git credentials and webhook secrets. Never
	// log it.
	SecretKey []byte
}

// GitProvider is one of Terrareg's git providers: URL templates with
// {namespace}, {module}, {provider}, {tag}/{tag_uri_encoded} and {path}.
type GitProvider struct {
	Name      string `json:"name"`
	BaseURL   string `json:"base_url"`
	CloneURL  string `json:"clone_url"`
	BrowseURL string `json:"browse_url"`
	GitPath   string `json:"git_path"`
}

// parseGitProviders reads CAIRN_GIT_PROVIDERS as Terrareg reads
// GIT_PROVIDER_CONFIG: every entry names name, base_url, clone_url and
// browse_url (git_path optional); names are unique.
func parseGitProviders(s string) ([]GitProvider, error) {
	if s == "" {
		return nil, nil
	}
	var list []GitProvider
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("not a JSON list of git providers: %v", err)
	}
	seen := map[string]bool{}
	for i, g := range list {
		for _, f := range []struct{ key, v string }{{"name", g.Name}, {"base_url", g.BaseURL}, {"clone_url", g.CloneURL}, {"browse_url", g.BrowseURL}} {
			if strings.TrimSpace(f.v) == "" {
				return nil, fmt.Errorf("entry %d: %s is required", i+1, f.key)
			}
		}
		if seen[g.Name] {
			return nil, fmt.Errorf("entry %d: name %q is used twice", i+1, g.Name)
		}
		seen[g.Name] = true
		if !strings.Contains(g.BrowseURL+g.GitPath, "{path}") {
			return nil, fmt.Errorf("entry %d (%s): browse_url must contain {path}", i+1, g.Name)
		}
		if !strings.Contains(g.BrowseURL, "{tag}") && !strings.Contains(g.BrowseURL, "{tag_uri_encoded}") {
			return nil, fmt.Errorf("entry %d (%s): browse_url must contain {tag} or {tag_uri_encoded}", i+1, g.Name)
		}
	}
	return list, nil
}

// Identity configures how people sign in.
type Identity struct {
	// SessionIdle ends a browser session unused this long; SessionLifetime
	// ends any session this long after sign-in.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// PasswordLogin offers sign-in with local passwords.
	PasswordLogin bool
	// OIDC single sign-on; enabled when Issuer is set.
	OIDC OIDCConfig
	// LoginTokenTTL is the lifetime of tokens terraform login creates.
	LoginTokenTTL time.Duration
}

// OIDCConfig configures OpenID Connect single sign-on.
type OIDCConfig struct {
	Issuer        string
	ClientID      string
	ClientSecret  string
	Scopes        []string
	GroupsClaim   string
	UsernameClaim string
	// Name labels the sign-in button ("Sign in with <Name>").
	Name       string
	AutoCreate bool
}

// Enabled reports whether single sign-on is configured.
func (o OIDCConfig) Enabled() bool { return o.Issuer != "" }

// S3Config configures the S3-compatible blob store.
type S3Config struct {
	Endpoint  string
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
	UseTLS    bool
	// Presign redirects downloads to presigned object-store URLs.
	Presign bool
}

// Var describes one configuration variable, for flags, docs and errors.
type Var struct {
	Env     string
	Flag    string
	Default string
	Help    string
}

// Vars is the table of every variable, in README order.
var Vars = []Var{
	{"CAIRN_DATA_DIR", "data-dir", "./data", "directory for the embedded PostgreSQL, filesystem blobs and generated TLS files"},
	{"CAIRN_LISTEN", "listen", ":8443", "address to listen on"},
	{"CAIRN_PUBLIC_URL", "public-url", "https://localhost:<port>", "URL clients use to reach Cairn (used in discovery and download links)"},
	{"CAIRN_DATABASE_URL", "database-url", "(embedded)", "PostgreSQL connection URL; empty starts a private cluster under $CAIRN_DATA_DIR/postgres"},
	{"CAIRN_REQUIRE_DATABASE_URL", "require-database-url", "false", "refuse to start without CAIRN_DATABASE_URL instead of starting the embedded PostgreSQL (set to true in the container image, which has none)"},
	{"CAIRN_PG_BIN", "pg-bin", "(searched)", "directory with the PostgreSQL server binaries for the embedded cluster"},
	{"CAIRN_STORAGE", "storage", "fs", "blob store: fs (under $CAIRN_DATA_DIR/blobs) or s3"},
	{"CAIRN_S3_ENDPOINT", "s3-endpoint", "", "S3 endpoint host[:port], e.g. s3.amazonaws.com or 127.0.0.1:9000"},
	{"CAIRN_S3_BUCKET", "s3-bucket", "", "S3 bucket (created if missing)"},
	{"CAIRN_S3_REGION", "s3-region", "us-east-1", "S3 region"},
	{"CAIRN_S3_ACCESS_KEY", "s3-access-key", "", "S3 access key id"},
	{"CAIRN_S3_SECRET_KEY", "s3-secret-key", "", "S3 secret access key"},
	{"CAIRN_S3_TLS", "s3-tls", "true", "use HTTPS to reach the S3 endpoint"},
	{"CAIRN_S3_PRESIGN", "s3-presign", "false", "send downloads straight to presigned S3 URLs"},
	{"CAIRN_TLS_CERT", "tls-cert", "(generated)", "PEM certificate; with CAIRN_TLS_KEY replaces the generated local CA"},
	{"CAIRN_TLS_KEY", "tls-key", "(generated)", "PEM private key for CAIRN_TLS_CERT"},
	{"CAIRN_INSECURE_HTTP", "insecure-http", "false", "serve plain HTTP (only behind a TLS-terminating proxy)"},
	{"CAIRN_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"CAIRN_LOG_FORMAT", "log-format", "text", "text or json"},
	{"CAIRN_MAX_UPLOAD_SIZE", "max-upload-size", "1073741824", "largest accepted archive, in bytes"},
	{"CAIRN_SESSION_IDLE", "session-idle", "8h", "a browser session unused this long is signed out"},
	{"CAIRN_SESSION_LIFETIME", "session-lifetime", "168h", "a browser session ends this long after sign-in"},
	{"CAIRN_PASSWORD_LOGIN", "password-login", "true", "offer sign-in with a local password (false for SSO-only installations)"},
	{"CAIRN_OIDC_ISSUER", "oidc-issuer", "", "OpenID Connect issuer URL for single sign-on (empty: SSO off)"},
	{"CAIRN_OIDC_CLIENT_ID", "oidc-client-id", "", "client id registered with the identity provider"},
	{"CAIRN_OIDC_CLIENT_SECRET", "oidc-client-secret", "", "client secret registered with the identity provider"},
	{"CAIRN_OIDC_SCOPES", "oidc-scopes", "openid profile email", "scopes requested at sign-in (space-separated)"},
	{"CAIRN_OIDC_GROUPS_CLAIM", "oidc-groups-claim", "groups", "ID token claim listing the user's groups (synchronised to user groups)"},
	{"CAIRN_OIDC_USERNAME_CLAIM", "oidc-username-claim", "preferred_username", "ID token claim a new user's username comes from"},
	{"CAIRN_OIDC_NAME", "oidc-name", "SSO", "label of the sign-in button: Sign in with <name>"},
	{"CAIRN_OIDC_AUTO_CREATE", "oidc-auto-create", "true", "create a user at their first SSO sign-in"},
	{"CAIRN_LOGIN_TOKEN_TTL", "login-token-ttl", "2160h", "lifetime of the tokens terraform login creates (90 days)"},
	{"CAIRN_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client (empty: the client is the direct peer)"},
	{"CAIRN_OUTBOUND_ALLOW", "outbound-allow", "", "comma-separated IP addresses, CIDRs or host names Cairn may fetch from even though they are loopback or private (e.g. an internal GitLab); everything else private is refused"},
	{"CAIRN_TERRAREG_AUTO_PUBLISH", "terrareg-auto-publish", "false", "publish module versions uploaded through Terrareg's upload API at once (Terrareg's AUTO_PUBLISH_MODULE_VERSIONS); otherwise they wait for .../publish"},
	{"CAIRN_GIT_PROVIDERS", "git-providers", "", "Terrareg's git providers (its GIT_PROVIDER_CONFIG format): a JSON list of {\"name\", \"base_url\", \"clone_url\", \"browse_url\", \"git_path\"} URL templates, listed by /v1/terrareg/git_providers and chosen by id (1, 2, ...) in module provider settings"},
	{"CAIRN_SECRET_KEY", "secret-key", "", "32 or more random bytes, base64- or hex-encoded (e.g. openssl rand -base64 32), sealing the git credentials and webhook secrets stored for git-backed modules; unset: none can be stored. Keep it secret and keep it: changing it makes stored ones unreadable"},
	{"CAIRN_METRICS_LISTEN", "metrics-listen", "", "host:port of a separate plain-HTTP listener serving Prometheus metrics at /metrics and Go profiles at /debug/pprof/ (e.g. 127.0.0.1:9090); empty: off. Keep it off the public network"},
}

// Load reads the environment (through getenv, os.Getenv when nil), lets flags
// in args override it, and validates the result.
func Load(args []string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	values := make(map[string]string, len(Vars))
	for _, v := range Vars {
		values[v.Env] = getenv(v.Env)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	flagValues := make(map[string]*string, len(Vars))
	for _, v := range Vars {
		flagValues[v.Env] = fs.String(v.Flag, "", fmt.Sprintf("%s (env %s, default %s)", v.Help, v.Env, v.Default))
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		for _, v := range Vars {
			if v.Flag == f.Name {
				values[v.Env] = *flagValues[v.Env]
			}
		}
	})
	return parse(values)
}

func parse(values map[string]string) (*Config, error) {
	get := func(env string) string { return strings.TrimSpace(values[env]) }
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	boolean := func(env string, def bool) bool {
		s := get(env)
		if s == "" {
			return def
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			bad(env, "%q is not a boolean (use true or false)", s)
		}
		return b
	}

	c := &Config{
		DataDir:     get("CAIRN_DATA_DIR"),
		Listen:      get("CAIRN_LISTEN"),
		PublicURL:   strings.TrimRight(get("CAIRN_PUBLIC_URL"), "/"),
		DatabaseURL: get("CAIRN_DATABASE_URL"),
		PGBin:       get("CAIRN_PG_BIN"),
		Storage:     strings.ToLower(get("CAIRN_STORAGE")),
		TLSCert:     get("CAIRN_TLS_CERT"),
		TLSKey:      get("CAIRN_TLS_KEY"),
		Insecure:    boolean("CAIRN_INSECURE_HTTP", false),
		LogFormat:   strings.ToLower(get("CAIRN_LOG_FORMAT")),
		S3: S3Config{
			Endpoint:  get("CAIRN_S3_ENDPOINT"),
			Bucket:    get("CAIRN_S3_BUCKET"),
			Region:    get("CAIRN_S3_REGION"),
			AccessKey: get("CAIRN_S3_ACCESS_KEY"),
			SecretKey: values["CAIRN_S3_SECRET_KEY"],
			UseTLS:    boolean("CAIRN_S3_TLS", true),
			Presign:   boolean("CAIRN_S3_PRESIGN", false),
		},
		TerraregAutoPublish: boolean("CAIRN_TERRAREG_AUTO_PUBLISH", false),
	}
	if gp, err := parseGitProviders(get("CAIRN_GIT_PROVIDERS")); err != nil {
		bad("CAIRN_GIT_PROVIDERS", "%v", err)
	} else {
		c.GitProviders = gp
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.Listen == "" {
		c.Listen = ":8443"
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		bad("CAIRN_LISTEN", "%q is not host:port (%v)", c.Listen, err)
	}
	scheme := "https"
	if c.Insecure {
		scheme = "http"
	}
	if c.PublicURL == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		c.PublicURL = scheme + "://" + net.JoinHostPort(host, port)
	} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("CAIRN_PUBLIC_URL", "%q is not an absolute http(s) URL", c.PublicURL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("CAIRN_PUBLIC_URL", "%q must not carry a query or fragment", c.PublicURL)
	}
	if c.DatabaseURL == "" && boolean("CAIRN_REQUIRE_DATABASE_URL", false) {
		bad("CAIRN_DATABASE_URL", "required: this installation has no embedded PostgreSQL (CAIRN_REQUIRE_DATABASE_URL=true, as in the container image); set it to a postgres:// URL")
	}
	if c.DatabaseURL != "" {
		if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") && !strings.Contains(c.DatabaseURL, "=") {
			bad("CAIRN_DATABASE_URL", "expected a postgres:// URL or a key=value connection string")
		}
	}

	switch c.Storage {
	case "":
		c.Storage = StorageFS
	case StorageFS:
	case StorageS3:
		if c.S3.Endpoint == "" {
			bad("CAIRN_S3_ENDPOINT", "required when CAIRN_STORAGE=s3")
		} else if strings.Contains(c.S3.Endpoint, "://") {
			bad("CAIRN_S3_ENDPOINT", "give host[:port] without a scheme; CAIRN_S3_TLS chooses https")
		}
		if c.S3.Bucket == "" {
			bad("CAIRN_S3_BUCKET", "required when CAIRN_STORAGE=s3")
		}
		if c.S3.AccessKey == "" {
			bad("CAIRN_S3_ACCESS_KEY", "required when CAIRN_STORAGE=s3")
		}
		if c.S3.SecretKey == "" {
			bad("CAIRN_S3_SECRET_KEY", "required when CAIRN_STORAGE=s3")
		}
	default:
		bad("CAIRN_STORAGE", "%q is not a storage backend (use fs or s3)", c.Storage)
	}
	if c.S3.Region == "" {
		c.S3.Region = "us-east-1"
	}

	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("CAIRN_TLS_CERT", "CAIRN_TLS_CERT and CAIRN_TLS_KEY must be set together")
	}
	for _, env := range []string{"CAIRN_TLS_CERT", "CAIRN_TLS_KEY"} {
		if p := get(env); p != "" {
			if _, err := os.Stat(p); err != nil {
				bad(env, "cannot read %s: %v", p, err)
			}
		}
	}
	if c.Insecure && c.TLSCert != "" {
		bad("CAIRN_INSECURE_HTTP", "cannot be combined with CAIRN_TLS_CERT")
	}

	switch lvl := strings.ToLower(get("CAIRN_LOG_LEVEL")); lvl {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		bad("CAIRN_LOG_LEVEL", "%q is not a level (use debug, info, warn or error)", lvl)
	}
	switch c.LogFormat {
	case "":
		c.LogFormat = "text"
	case "text", "json":
	default:
		bad("CAIRN_LOG_FORMAT", "%q is not a format (use text or json)", c.LogFormat)
	}

	c.MaxUploadBytes = 1 << 30
	if s := get("CAIRN_MAX_UPLOAD_SIZE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			bad("CAIRN_MAX_UPLOAD_SIZE", "%q is not a positive number of bytes", s)
		}
		c.MaxUploadBytes = n
	}

	duration := func(env string, def time.Duration) time.Duration {
		s := get(env)
		if s == "" {
			return def
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad(env, "%q is not a positive duration (e.g. 8h, 30m)", s)
			return def
		}
		return d
	}
	c.Identity = Identity{
		SessionIdle:     duration("CAIRN_SESSION_IDLE", 8*time.Hour),
		SessionLifetime: duration("CAIRN_SESSION_LIFETIME", 7*24*time.Hour),
		PasswordLogin:   boolean("CAIRN_PASSWORD_LOGIN", true),
		LoginTokenTTL:   duration("CAIRN_LOGIN_TOKEN_TTL", 90*24*time.Hour),
		OIDC: OIDCConfig{
			Issuer:        strings.TrimRight(get("CAIRN_OIDC_ISSUER"), "/"),
			ClientID:      get("CAIRN_OIDC_CLIENT_ID"),
			ClientSecret:  values["CAIRN_OIDC_CLIENT_SECRET"],
			Scopes:        strings.Fields(get("CAIRN_OIDC_SCOPES")),
			GroupsClaim:   get("CAIRN_OIDC_GROUPS_CLAIM"),
			UsernameClaim: get("CAIRN_OIDC_USERNAME_CLAIM"),
			Name:          get("CAIRN_OIDC_NAME"),
			AutoCreate:    boolean("CAIRN_OIDC_AUTO_CREATE", true),
		},
	}
	if c.Identity.SessionIdle > c.Identity.SessionLifetime {
		bad("CAIRN_SESSION_IDLE", "must not exceed CAIRN_SESSION_LIFETIME")
	}
	o := &c.Identity.OIDC
	if len(o.Scopes) == 0 {
		o.Scopes = []string{"openid", "profile", "email"}
	}
	if o.GroupsClaim == "" {
		o.GroupsClaim = "groups"
	}
	if o.UsernameClaim == "" {
		o.UsernameClaim = "preferred_username"
	}
	if o.Name == "" {
		o.Name = "SSO"
	}
	if o.Issuer != "" {
		if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("CAIRN_OIDC_ISSUER", "%q is not an absolute https URL", o.Issuer)
		}
		if o.ClientID == "" {
			bad("CAIRN_OIDC_CLIENT_ID", "required when CAIRN_OIDC_ISSUER is set")
		}
		if !slices.Contains(o.Scopes, "openid") {
			bad("CAIRN_OIDC_SCOPES", "must include openid")
		}
	}
	if !c.Identity.PasswordLogin && o.Issuer == "" {
		bad("CAIRN_PASSWORD_LOGIN", "false needs CAIRN_OIDC_ISSUER: nobody could sign in")
	}
	for _, p := range strings.Split(get("CAIRN_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				bad("CAIRN_TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	c.OutboundAllow = get("CAIRN_OUTBOUND_ALLOW")
	if _, err := outbound.ParseAllow(c.OutboundAllow); err != nil {
		bad("CAIRN_OUTBOUND_ALLOW", "%v", err)
	}

	if k := get("CAIRN_SECRET_KEY"); k != "" {
		key, err := decodeSecretKey(k)
		if err != nil {
			bad("CAIRN_SECRET_KEY", "%v", err)
		}
		c.SecretKey = key
	}

	c.MetricsListen = get("CAIRN_METRICS_LISTEN")
	if c.MetricsListen != "" {
		if _, mport, err := net.SplitHostPort(c.MetricsListen); err != nil {
			bad("CAIRN_METRICS_LISTEN", "%q is not host:port (%v)", c.MetricsListen, err)
		} else if n, err := strconv.ParseUint(mport, 10, 16); err != nil {
			bad("CAIRN_METRICS_LISTEN", "%q: port %q is not a number from 0 to 65535", c.MetricsListen, mport)
		} else if n != 0 && c.MetricsListen == c.Listen {
			bad("CAIRN_METRICS_LISTEN", "%q is CAIRN_LISTEN's address; metrics need their own listener", c.MetricsListen)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %w", joinIndented(errs))
	}
	return c, nil
}

func joinIndented(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

// PostgresDir is where the embedded cluster lives.
func (c *Config) PostgresDir() string { return filepath.Join(c.DataDir, "postgres") }

// BlobDir is where the filesystem blob store keeps archives.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// TLSDir is where the generated CA and server certificate live.
func (c *Config) TLSDir() string { return filepath.Join(c.DataDir, "tls") }

// decodeSecretKey decodes CAIRN_SECRET_KEY: hex or base64 (standard or
// URL alphabet, padded or not), at least 32 bytes. Errors never repeat it.
func decodeSecretKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("is %d bytes once hex-decoded; use 32 or more (e.g. openssl rand -hex 32)", len(b))
		}
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) < 32 {
				return nil, fmt.Errorf("is %d bytes once base64-decoded; use 32 or more (e.g. openssl rand -base64 32)", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("is neither hex nor base64; generate one with openssl rand -base64 32")
}
