package config

import (
	"log/slog"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8443" || c.Storage != StorageFS || c.PublicURL != "https://localhost:8443" ||
		c.LogLevel != slog.LevelInfo || c.MaxUploadBytes != 1<<30 || !strings.HasSuffix(c.DataDir, "/data") {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	c, err := Load([]string{"--listen", "127.0.0.1:9000", "--log-level=debug"},
		env(map[string]string{"CAIRN_LISTEN": ":1", "CAIRN_LOG_LEVEL": "error", "CAIRN_INSECURE_HTTP": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.LogLevel != slog.LevelDebug || c.PublicURL != "http://127.0.0.1:9000" {
		t.Fatalf("flags did not override env: %+v", c)
	}
}

func TestErrorsNameTheVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"CAIRN_LISTEN": "nonsense"}, []string{"CAIRN_LISTEN"}},
		{map[string]string{"CAIRN_STORAGE": "ftp"}, []string{"CAIRN_STORAGE", "fs or s3"}},
		{map[string]string{"CAIRN_STORAGE": "s3"}, []string{"CAIRN_S3_ENDPOINT", "CAIRN_S3_BUCKET", "CAIRN_S3_ACCESS_KEY", "CAIRN_S3_SECRET_KEY"}},
		{map[string]string{"CAIRN_STORAGE": "s3", "CAIRN_S3_ENDPOINT": "https://x", "CAIRN_S3_BUCKET": "b",
			"CAIRN_S3_ACCESS_KEY": "a", "CAIRN_S3_SECRET_KEY": "s"}, []string{"CAIRN_S3_ENDPOINT", "without a scheme"}},
		{map[string]string{"CAIRN_S3_TLS": "maybe"}, []string{"CAIRN_S3_TLS"}},
		{map[string]string{"CAIRN_PUBLIC_URL": "ftp://x"}, []string{"CAIRN_PUBLIC_URL"}},
		{map[string]string{"CAIRN_TLS_CERT": "/nonexistent.pem"}, []string{"CAIRN_TLS_CERT", "set together"}},
		{map[string]string{"CAIRN_LOG_LEVEL": "loud"}, []string{"CAIRN_LOG_LEVEL"}},
		{map[string]string{"CAIRN_LOG_FORMAT": "xml"}, []string{"CAIRN_LOG_FORMAT"}},
		{map[string]string{"CAIRN_MAX_UPLOAD_SIZE": "-5"}, []string{"CAIRN_MAX_UPLOAD_SIZE"}},
		{map[string]string{"CAIRN_DATABASE_URL": "mysql:x"}, []string{"CAIRN_DATABASE_URL"}},
		{map[string]string{"CAIRN_OUTBOUND_ALLOW": "10.0.0.0/8, https://gitlab.internal"}, []string{"CAIRN_OUTBOUND_ALLOW", "https://gitlab.internal", "scheme"}},
		{map[string]string{"CAIRN_METRICS_LISTEN": "9090"}, []string{"CAIRN_METRICS_LISTEN", "host:port"}},
		{map[string]string{"CAIRN_METRICS_LISTEN": "127.0.0.1:prom"}, []string{"CAIRN_METRICS_LISTEN", "port"}},
		{map[string]string{"CAIRN_LISTEN": ":9000", "CAIRN_METRICS_LISTEN": ":9000"}, []string{"CAIRN_METRICS_LISTEN", "CAIRN_LISTEN", "own listener"}},
	}
	for _, tc := range cases {
		_, err := Load(nil, env(tc.env))
		if err == nil {
			t.Errorf("Load(%v) succeeded, want an error", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%v) error %q does not mention %q", tc.env, err, w)
			}
		}
	}
}

func TestMetricsListen(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsListen != "" {
		t.Fatalf("MetricsListen defaults to %q, want empty (off)", c.MetricsListen)
	}
	for _, addr := range []string{"127.0.0.1:9090", ":9090", "[::1]:0", "localhost:0"} {
		c, err := Load([]string{"--metrics-listen", addr}, env(nil))
		if err != nil || c.MetricsListen != addr {
			t.Errorf("--metrics-listen %s = %v, %v; want it accepted", addr, c, err)
		}
	}
}

func TestS3Config(t *testing.T) {
	c, err := Load(nil, env(map[string]string{"CAIRN_STORAGE": "S3", "CAIRN_S3_ENDPOINT": "127.0.0.1:9000",
		"CAIRN_S3_BUCKET": "mods", "CAIRN_S3_ACCESS_KEY": "a", "CAIRN_S3_SECRET_KEY": "s", "CAIRN_S3_TLS": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage != StorageS3 || c.S3.UseTLS || c.S3.Region != "us-east-1" || c.S3.Bucket != "mods" {
		t.Fatalf("unexpected S3 config: %+v", c.S3)
	}
}

func TestEveryVarHasAFlag(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Vars {
		if !strings.HasPrefix(v.Env, "CAIRN_") || v.Flag == "" || v.Help == "" || seen[v.Flag] {
			t.Errorf("bad Var %+v", v)
		}
		seen[v.Flag] = true
	}
}
