package config

import (
	"strings"
	"testing"
)

func TestSecretKey(t *testing.T) {
	load := func(key string) (*Config, error) {
		env := map[string]string{"CAIRN_SECRET_KEY": key}
		return Load(nil, func(k string) string { return env[k] })
	}
	for _, good := range []string{
		strings.Repeat("ab", 32),                       // hex, 32 bytes
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", // base64, 32 bytes
		"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",  // unpadded
	} {
		c, err := load(good)
		if err != nil || len(c.SecretKey) != 32 {
			t.Errorf("CAIRN_SECRET_KEY=%s: %v (%d bytes)", good, err, len(c.SecretKey))
		}
	}
	for _, bad := range []string{strings.Repeat("ab", 16), "c2hvcnQ=", "not a key!"} {
		_, err := load(bad)
		if err == nil || !strings.Contains(err.Error(), "CAIRN_SECRET_KEY") {
			t.Errorf("CAIRN_SECRET_KEY=%s accepted or unnamed: %v", bad, err)
		} else if strings.Contains(err.Error(), bad) {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
	if c, err := load(""); err != nil || c.SecretKey != nil {
		t.Errorf("unset: %v, %v", c.SecretKey, err)
	}
}
