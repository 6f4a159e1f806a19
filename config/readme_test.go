package config

import (
	"os"
	"strings"
	"testing"

	"github.com/cairn-registry/cairn/internal/testenv"
)

// TestREADMEConfigurationTable keeps README.md's configuration table equal
// to Vars: every variable, flag, default and meaning (rewrite it with
// go test ./config -run TestREADMEConfigurationTable -update).
func TestREADMEConfigurationTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("| Variable | Flag | Default | Meaning |\n|---|---|---|---|\n")
	for _, v := range Vars {
		def := "—"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		b.WriteString("| `" + v.Env + "` | `--" + v.Flag + "` | " + def + " | " + v.Help + " |\n")
	}
	table := b.String()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "<!-- configuration table: generated from config.Vars -->\n", "<!-- end of configuration table -->"
	s := string(readme)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q ... %q section", start, end)
	}
	got := s[i+len(start) : j]
	if testenv.Updating() {
		if err := os.WriteFile("../README.md", []byte(s[:i+len(start)]+table+s[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != table {
		t.Errorf("README.md's configuration table differs from config.Vars; run go test ./config -run TestREADMEConfigurationTable -update\n--- README\n%s--- Vars\n%s", got, table)
	}
}
