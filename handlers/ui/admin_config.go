package ui

import (
	"strconv"
	"strings"

	"github.com/cairn-registry/cairn/config"
)

// ReadyChecks adapts the router's readiness dependencies for the system
// page.
func ReadyChecks[P Pinger](m map[string]P) map[string]Pinger {
	out := make(map[string]Pinger, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ManageOf is what the management pages take from the configuration: the
// values the system page shows (by variable; secrets are masked there)
// and the upload limit. A nil cfg shows defaults.
func ManageOf(cfg *config.Config) (settings map[string]string, maxUpload int64) {
	if cfg == nil {
		return nil, 0
	}
	b := strconv.FormatBool
	id := cfg.Identity
	return map[string]string{
		"CAIRN_DATA_DIR":              cfg.DataDir,
		"CAIRN_LISTEN":                cfg.Listen,
		"CAIRN_PUBLIC_URL":            cfg.PublicURL,
		"CAIRN_DATABASE_URL":          cfg.DatabaseURL,
		"CAIRN_PG_BIN":                cfg.PGBin,
		"CAIRN_STORAGE":               cfg.Storage,
		"CAIRN_S3_ENDPOINT":           cfg.S3.Endpoint,
		"CAIRN_S3_BUCKET":             cfg.S3.Bucket,
		"CAIRN_S3_REGION":             cfg.S3.Region,
		"CAIRN_S3_ACCESS_KEY":         cfg.S3.AccessKey,
		"CAIRN_S3_SECRET_KEY":         cfg.S3.SecretKey,
		"CAIRN_S3_TLS":                b(cfg.S3.UseTLS),
		"CAIRN_S3_PRESIGN":            b(cfg.S3.Presign),
		"CAIRN_TLS_CERT":              cfg.TLSCert,
		"CAIRN_TLS_KEY":               cfg.TLSKey,
		"CAIRN_INSECURE_HTTP":         b(cfg.Insecure),
		"CAIRN_LOG_LEVEL":             strings.ToLower(cfg.LogLevel.String()),
		"CAIRN_LOG_FORMAT":            cfg.LogFormat,
		"CAIRN_MAX_UPLOAD_SIZE":       strconv.FormatInt(cfg.MaxUploadBytes, 10),
		"CAIRN_SESSION_IDLE":          id.SessionIdle.String(),
		"CAIRN_SESSION_LIFETIME":      id.SessionLifetime.String(),
		"CAIRN_PASSWORD_LOGIN":        b(id.PasswordLogin),
		"CAIRN_OIDC_ISSUER":           id.OIDC.Issuer,
		"CAIRN_OIDC_CLIENT_ID":        id.OIDC.ClientID,
		"CAIRN_OIDC_CLIENT_SECRET":    id.OIDC.ClientSecret,
		"CAIRN_OIDC_SCOPES":           strings.Join(id.OIDC.Scopes, " "),
		"CAIRN_OIDC_GROUPS_CLAIM":     id.OIDC.GroupsClaim,
		"CAIRN_OIDC_USERNAME_CLAIM":   id.OIDC.UsernameClaim,
		"CAIRN_OIDC_NAME":             id.OIDC.Name,
		"CAIRN_OIDC_AUTO_CREATE":      b(id.OIDC.AutoCreate),
		"CAIRN_LOGIN_TOKEN_TTL":       id.LoginTokenTTL.String(),
		"CAIRN_TRUSTED_PROXIES":       strings.Join(cfg.TrustedProxies, ","),
		"CAIRN_OUTBOUND_ALLOW":        cfg.OutboundAllow,
		"CAIRN_TERRAREG_AUTO_PUBLISH": b(cfg.TerraregAutoPublish),
		"CAIRN_METRICS_LISTEN":        cfg.MetricsListen,
	}, cfg.MaxUploadBytes
}
