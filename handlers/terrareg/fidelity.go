package terrareg

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/cairn-registry/cairn/modules"
)

// Terrareg's wire conventions shared by outlines and details: its time
// format, version compatibility, provider sources.

// trmTime is Python's datetime.isoformat() of Terrareg's naive UTC
// timestamps: no zone, microseconds only when there are some.
func trmTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	if us := t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	return &s
}

// Terrareg's version_compatibility values.
const (
	compatNone     = "no_constraint"
	compatOK       = "compatible"
	compatImplicit = "implicit_compatible"
	compatNo       = "incompatible"
	compatError    = "error"
)

// trmConstraintPart is Terrareg's version in a constraint: major, then
// optional minor and patch.
var trmConstraintPart = regexp.MustCompile(`^\s*([0-9]+)(?:\.([0-9]+)(?:\.([0-9]+))?)?\s*$`)

// trmStrictVersion is what Terrareg (semantic_version) accepts as a target.
var trmStrictVersion = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// trmConstraintVersion parses a constraint's version as Terrareg does
// (missing minor and patch are 0) and says whether minor and patch were
// given.
func trmConstraintVersion(s string) (v *version.Version, minor, patch bool) {
	m := trmConstraintPart.FindStringSubmatch(s)
	if m == nil {
		return nil, false, false
	}
	parts := []string{m[1], "0", "0"}
	if m[2] != "" {
		parts[1] = m[2]
	}
	if m[3] != "" {
		parts[2] = m[3]
	}
	v, err := version.NewSemver(strings.Join(parts, "."))
	if err != nil {
		return nil, false, false
	}
	return v, m[2] != "", m[3] != ""
}

// versionCompatibility is Terrareg's VersionConstraint.is_compatible: how a
// module whose root requires constraint (required_version, parts joined
// with commas) fits Terraform target. A constraint bounded on one side only
// is implicitly compatible.
func versionCompatibility(constraint, target string) string {
	if !trmStrictVersion.MatchString(target) {
		return compatError
	}
	tv, err := version.NewSemver(target)
	if err != nil {
		return compatError
	}
	if strings.TrimSpace(constraint) == "" {
		return compatNone
	}
	lower, upper := false, false
	for _, part := range strings.Split(constraint, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op, rest := "", part
		for _, o := range []string{">=", "<=", "~>", "!=", ">", "<", "="} {
			if r, ok := strings.CutPrefix(part, o); ok {
				op, rest = o, r
				break
			}
		}
		cv, minor, patch := trmConstraintVersion(rest)
		if cv == nil {
			return compatError
		}
		c := cv.Compare(tv)
		switch op {
		case ">=":
			if c > 0 {
				return compatNo
			}
			lower = true
		case ">":
			if c >= 0 {
				return compatNo
			}
			lower = true
		case "<=":
			if c < 0 {
				return compatNo
			}
			upper = true
		case "<":
			if c <= 0 {
				return compatNo
			}
			upper = true
		case "~>":
			s, ts := cv.Segments(), tv.Segments()
			switch {
			case patch && (s[0] != ts[0] || s[1] != ts[1]):
				return compatNo
			case !patch && minor && s[0] != ts[0]:
				return compatNo
			}
			lower, upper = true, true
		case "!=":
			if c == 0 {
				return compatNo
			}
		default: // "=" or a bare version
			if c != 0 {
				return compatNo
			}
			lower, upper = true, true
		}
	}
	if lower && upper {
		return compatOK
	}
	return compatImplicit
}

// trmProviderSource are Terrareg's provider source fields of a module
// provider. Cairn hosts modules from uploads (or its own git imports), not
// from Terrareg's provider sources: none is set, none inherited.
type trmProviderSource struct {
	ProviderSource                    *string `json:"provider_source"`
	ProviderSourceInheritanceDisabled bool    `json:"provider_source_inheritance_disabled"`
	NamespaceDefaultProviderSource    *string `json:"namespace_default_provider_source"`
}

// outlineFigures reads the per-version figures of a list's outlines.
func outlineFigures(ctx context.Context, svc *modules.Service, ms []modules.Outline) (map[int64]modules.VersionFigures, error) {
	ids := make([]int64, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.VersionID)
	}
	return svc.VersionFigures(ctx, ids)
}
