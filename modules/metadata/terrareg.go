package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// parseTerrareg reads Terrareg's per-module settings file. A file that is not a JSON object
// yields no config and an error diagnostic; a known key of the wrong type is dropped with a
// warning; unknown keys are ignored.
func parseTerrareg(name string, b []byte) (*TerraregConfig, []Diagnostic) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		d := Diagnostic{
			Severity: "error",
			Summary:  "Invalid " + name,
			Detail:   "The file must hold a JSON object.",
			File:     name,
		}
		if err != nil {
			d.Detail = clean(err.Error())
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				d.Line = lineAt(b, syn.Offset)
			}
		}
		return nil, []Diagnostic{d}
	}

	cfg := &TerraregConfig{}
	var diags []Diagnostic
	ignore := func(key, why string) {
		diags = append(diags, Diagnostic{
			Severity: "warning",
			Summary:  "Ignored " + name + " key",
			Detail:   fmt.Sprintf("%q %s.", key, why),
			File:     name,
		})
	}
	for key, dst := range map[string]*string{
		"owner":           &cfg.Owner,
		"description":     &cfg.Description,
		"repo_clone_url":  &cfg.RepoCloneURL,
		"repo_browse_url": &cfg.RepoBrowseURL,
		"repo_base_url":   &cfg.RepoBaseURL,
		"issues_url":      &cfg.IssuesURL,
	} {
		v, ok := raw[key]
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			ignore(key, "must be a string")
			continue
		}
		*dst = clean(s)
	}
	if v, ok := raw["variable_template"]; ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		var compact bytes.Buffer
		switch {
		case len(bytes.TrimSpace(v)) == 0 || bytes.TrimSpace(v)[0] != '[':
			ignore("variable_template", "must be a JSON array")
		case bytes.Contains(v, []byte(`\u0000`)):
			// PostgreSQL's jsonb refuses NUL characters.
			ignore("variable_template", "must not contain NUL characters")
		case json.Compact(&compact, v) != nil:
			ignore("variable_template", "is not valid JSON")
		default:
			// Escaped the way encoding/json escapes raw messages, so the stored bytes round-trip.
			var escaped bytes.Buffer
			json.HTMLEscape(&escaped, compact.Bytes())
			cfg.VariableTemplate = json.RawMessage(escaped.Bytes())
		}
	}
	return cfg, diags
}

// lineAt is the 1-based line of byte offset off in b.
func lineAt(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return bytes.Count(b[:off], []byte("\n")) + 1
}
