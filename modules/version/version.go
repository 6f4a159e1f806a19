// Package version parses and orders module versions. It is the one place
// that decides whether a string is a valid version and which of several
// versions is the latest. Versions are Semantic Versioning 2.0.0
// (https://semver.org), parsed strictly: no leading "v", no leading zeros,
// nothing around the version.
package version

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxLength is the longest version string Parse accepts.
const MaxLength = 128

// ErrInvalid matches (with errors.Is) every error Parse returns, ErrEmpty included.
var ErrInvalid = errors.New("invalid semantic version")

// ErrEmpty is returned by Parse for the empty string.
var ErrEmpty error = &parseError{msg: "Version is empty."}

// parseError carries a message written for the person who typed the version.
type parseError struct{ msg string }

func (e *parseError) Error() string { return e.msg }

// Is makes every parse error match ErrInvalid.
func (e *parseError) Is(target error) bool { return target == ErrInvalid }

// expectedShape is the hint given when the overall form is wrong.
const expectedShape = "expected MAJOR.MINOR.PATCH, e.g. 1.2.3"

func invalid(s, why string) error {
	return &parseError{msg: fmt.Sprintf("%q is not a valid semantic version (%s)", s, why)}
}

// Version is a parsed semantic version. Build metadata does not take part in
// precedence (see Compare); the original text is kept for String.
type Version struct {
	Major, Minor, Patch uint64
	Prerelease          string // dot-separated identifiers after "-", without the "-"
	Build               string // dot-separated identifiers after "+", without the "+"

	original string
}

// String returns the version exactly as it was parsed.
func (v Version) String() string {
	if v.original != "" {
		return v.original
	}
	// A Version built by hand rather than by Parse.
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Prerelease != "" {
		s += "-" + v.Prerelease
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// IsPrerelease reports whether v has a pre-release part (1.0.0-rc.1).
func (v Version) IsPrerelease() bool { return v.Prerelease != "" }

// Parse parses s as a strict SemVer 2.0.0 version. The error says what is
// wrong in words meant for the person who typed s.
func Parse(s string) (Version, error) {
	if s == "" {
		return Version{}, ErrEmpty
	}
	if len(s) > MaxLength {
		return Version{}, &parseError{msg: fmt.Sprintf("%q… is not a valid semantic version (it is longer than %d characters)", s[:24], MaxLength)}
	}
	if strings.TrimSpace(s) != s {
		return Version{}, invalid(s, "remove the spaces around it")
	}
	if s[0] == 'v' || s[0] == 'V' {
		return Version{}, invalid(s, fmt.Sprintf("remove the leading %q", s[:1]))
	}

	v := Version{original: s}
	rest := s
	if before, build, ok := strings.Cut(rest, "+"); ok {
		if build == "" {
			return Version{}, invalid(s, `the build metadata after "+" is empty`)
		}
		if err := checkIdentifiers(s, "build metadata", build, false); err != nil {
			return Version{}, err
		}
		v.Build, rest = build, before
	}
	if before, pre, ok := strings.Cut(rest, "-"); ok {
		if pre == "" {
			return Version{}, invalid(s, `the pre-release after "-" is empty`)
		}
		if err := checkIdentifiers(s, "pre-release", pre, true); err != nil {
			return Version{}, err
		}
		v.Prerelease, rest = pre, before
	}

	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return Version{}, invalid(s, expectedShape)
	}
	names := [3]string{"major", "minor", "patch"}
	var nums [3]uint64
	for i, p := range parts {
		if p == "" || !allDigits(p) {
			return Version{}, invalid(s, expectedShape)
		}
		if len(p) > 1 && p[0] == '0' {
			return Version{}, invalid(s, fmt.Sprintf("%s version %q has a leading zero", names[i], p))
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return Version{}, invalid(s, fmt.Sprintf("%s version %q is too large", names[i], p))
		}
		nums[i] = n
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return v, nil
}

// checkIdentifiers validates the dot-separated identifiers of a pre-release
// (numeric ones may not have leading zeros) or of build metadata.
func checkIdentifiers(s, what, ids string, noLeadingZero bool) error {
	for id := range strings.SplitSeq(ids, ".") {
		if id == "" {
			return invalid(s, fmt.Sprintf("the %s %q has an empty identifier", what, ids))
		}
		for i := 0; i < len(id); i++ {
			if !isIdentChar(id[i]) {
				return invalid(s, fmt.Sprintf("the %s may only contain 0-9, A-Z, a-z, \"-\" and dots", what))
			}
		}
		if noLeadingZero && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return invalid(s, fmt.Sprintf("the %s identifier %q has a leading zero", what, id))
		}
	}
	return nil
}

func isIdentChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Compare returns -1, 0 or +1 as a is lower than, equal to or higher than b
// in SemVer precedence: numeric parts compare numerically, a release is
// higher than its pre-releases, and pre-release identifiers compare as the
// spec (section 11) says. Versions that differ only in build metadata have
// equal precedence; Compare still orders them by their build metadata (as
// plain strings) so that sorting is total and deterministic, and returns 0
// only for identical versions.
func Compare(a, b Version) int {
	if c := cmp.Compare(a.Major, b.Major); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Minor, b.Minor); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Patch, b.Patch); c != 0 {
		return c
	}
	if c := comparePrerelease(a.Prerelease, b.Prerelease); c != 0 {
		return c
	}
	return strings.Compare(a.Build, b.Build)
}

// comparePrerelease orders pre-release parts; the empty part (a release)
// is the highest.
func comparePrerelease(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if c := compareIdentifier(x, y); c != 0 {
			return c
		}
	}
	// Equal so far: the one with identifiers left over is higher.
	return cmp.Compare(len(a), len(b))
}

// compareIdentifier orders one pre-release identifier: numeric ones by value
// and below alphanumeric ones, alphanumeric ones in ASCII order.
func compareIdentifier(x, y string) int {
	xNum, yNum := allDigits(x), allDigits(y)
	switch {
	case xNum && yNum:
		// No leading zeros, so the longer number is the larger; this also
		// works for numbers that do not fit in a uint64.
		if c := cmp.Compare(len(x), len(y)); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	case xNum:
		return -1
	case yNum:
		return 1
	}
	return strings.Compare(x, y)
}

// Latest returns the highest version in vs. With includePrerelease false,
// pre-releases are skipped unless vs holds nothing but pre-releases: then
// the highest pre-release is returned, so that a module published only as
// pre-releases still has a latest version to show and to install. ok is
// false only when vs is empty.
func Latest(vs []Version, includePrerelease bool) (latest Version, ok bool) {
	var best, bestPre Version
	var haveBest, havePre bool
	for _, v := range vs {
		if v.IsPrerelease() && !includePrerelease {
			if !havePre || Compare(v, bestPre) > 0 {
				bestPre, havePre = v, true
			}
			continue
		}
		if !haveBest || Compare(v, best) > 0 {
			best, haveBest = v, true
		}
	}
	if haveBest {
		return best, true
	}
	return bestPre, havePre
}

// Sort sorts vs in ascending order of Compare.
func Sort(vs []Version) { slices.SortFunc(vs, Compare) }

// SortDescending sorts vs from the highest version to the lowest.
func SortDescending(vs []Version) {
	slices.SortFunc(vs, func(a, b Version) int { return Compare(b, a) })
}
