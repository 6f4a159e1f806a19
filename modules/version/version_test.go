package version

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): unexpected error: %v", s, err)
	}
	return v
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in                  string
		major, minor, patch uint64
		pre, build          string
	}{
		{"0.0.0", 0, 0, 0, "", ""},
		{"1.2.3", 1, 2, 3, "", ""},
		{"10.20.30", 10, 20, 30, "", ""},
		{"1.0.0-alpha", 1, 0, 0, "alpha", ""},
		{"1.0.0-alpha.1", 1, 0, 0, "alpha.1", ""},
		{"1.0.0-0.3.7", 1, 0, 0, "0.3.7", ""},
		{"1.0.0-x.7.z.92", 1, 0, 0, "x.7.z.92", ""},
		{"1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--", ""},
		{"1.0.0-alpha+001", 1, 0, 0, "alpha", "001"},
		{"1.0.0+20130313144700", 1, 0, 0, "", "20130313144700"},
		{"1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85"},
		{"1.0.0+21AF26D3----117B344092BD", 1, 0, 0, "", "21AF26D3----117B344092BD"},
		{"1.0.0-0A.is.legal", 1, 0, 0, "0A.is.legal", ""},
		{"18446744073709551615.0.0", 18446744073709551615, 0, 0, "", ""},
		{"1.2.3-99999999999999999999999", 1, 2, 3, "99999999999999999999999", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := mustParse(t, tt.in)
			if v.Major != tt.major || v.Minor != tt.minor || v.Patch != tt.patch || v.Prerelease != tt.pre || v.Build != tt.build {
				t.Errorf("Parse(%q) = %d.%d.%d pre %q build %q, want %d.%d.%d pre %q build %q",
					tt.in, v.Major, v.Minor, v.Patch, v.Prerelease, v.Build,
					tt.major, tt.minor, tt.patch, tt.pre, tt.build)
			}
			if v.String() != tt.in {
				t.Errorf("String() = %q, want %q", v.String(), tt.in)
			}
			if got, want := v.IsPrerelease(), tt.pre != ""; got != want {
				t.Errorf("IsPrerelease() = %v, want %v", got, want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		in      string
		message string // substring the error must contain
	}{
		{"v1.0.0", `"v1.0.0" is not a valid semantic version (remove the leading "v")`},
		{"V1.0.0", `remove the leading "V"`},
		{"1.0", `"1.0" is not a valid semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.2.3)`},
		{"1", "expected MAJOR.MINOR.PATCH"},
		{"1.0.0.0", "expected MAJOR.MINOR.PATCH"},
		{"01.0.0", `major version "01" has a leading zero`},
		{"1.00.0", `minor version "00" has a leading zero`},
		{"1.0.01", `patch version "01" has a leading zero`},
		{"1.0.0-", `the pre-release after "-" is empty`},
		{"1.0.0+", `the build metadata after "+" is empty`},
		{"1.0.0-01", `the pre-release identifier "01" has a leading zero`},
		{"1.0.0-alpha..1", "has an empty identifier"},
		{"1.0.0-alpha.", "has an empty identifier"},
		{"1.0.0+a..b", "has an empty identifier"},
		{"1.0.0-al_pha", "may only contain"},
		{"1.0.0+build+again", "may only contain"},
		{"1.0.0-ünï", "may only contain"},
		{"1..0", "expected MAJOR.MINOR.PATCH"},
		{"1.0.", "expected MAJOR.MINOR.PATCH"},
		{".1.0", "expected MAJOR.MINOR.PATCH"},
		{"a.b.c", "expected MAJOR.MINOR.PATCH"},
		{"1.0.x", "expected MAJOR.MINOR.PATCH"},
		{"-1.0.0", "expected MAJOR.MINOR.PATCH"},
		{"+1.0.0", "expected MAJOR.MINOR.PATCH"},
		{"1.0.0 ", "remove the spaces around it"},
		{" 1.0.0", "remove the spaces around it"},
		{"1.0.0\n", "remove the spaces around it"},
		{"1. 0.0", "expected MAJOR.MINOR.PATCH"},
		{"18446744073709551616.0.0", `major version "18446744073709551616" is too large`},
		{"1.99999999999999999999.0", `minor version "99999999999999999999" is too large`},
		{"1.0.0-" + strings.Repeat("a", MaxLength), "longer than 128 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.in, v, tt.message)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.in, err, tt.message)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse(%q) error %v does not match ErrInvalid", tt.in, err)
			}
			if errors.Is(err, ErrEmpty) {
				t.Errorf("Parse(%q) error %v matches ErrEmpty", tt.in, err)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	_, err := Parse("")
	if err != ErrEmpty {
		t.Fatalf("Parse(\"\") error = %v, want ErrEmpty", err)
	}
	if err.Error() != "Version is empty." {
		t.Errorf("ErrEmpty message = %q, want %q", err, "Version is empty.")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("ErrEmpty does not match ErrInvalid")
	}
}

func TestMaxLength(t *testing.T) {
	s := "1.0.0-" + strings.Repeat("a", MaxLength-len("1.0.0-"))
	if _, err := Parse(s); err != nil {
		t.Errorf("Parse of a %d-character version: unexpected error %v", len(s), err)
	}
	if _, err := Parse(s + "a"); err == nil {
		t.Errorf("Parse of a %d-character version succeeded, want an error", len(s)+1)
	}
}

// TestCompareChains checks that each list is strictly ascending, comparing
// every pair, not only neighbours.
func TestCompareChains(t *testing.T) {
	chains := [][]string{
		// The precedence example of semver.org, section 11.
		{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"},
		{"1.0.0", "2.0.0", "2.1.0", "2.1.1"},
		{"0.0.9", "0.0.10"},
		{"1.1.0", "1.9.0", "1.10.0"},
		{"9.0.0", "10.0.0", "100.0.0"},
		{"1.0.0-2", "1.0.0-10", "1.0.0-99999999999999999999", "1.0.0-a"},
		{"1.0.0-A", "1.0.0-Z", "1.0.0-a"}, // ASCII order
		{"1.0.0-alpha", "1.0.0-alpha.0", "1.0.0-alpha.0.0"},
		{"1.0.0-rc.1", "1.0.0", "1.0.1-rc.1", "1.0.1"},
		// Build metadata only breaks ties, after everything else.
		{"1.0.0-rc.1+zzz", "1.0.0", "1.0.0+001", "1.0.0+build.1", "1.0.0+build.2", "1.0.1+aaa"},
	}
	for _, chain := range chains {
		t.Run(strings.Join(chain, "<"), func(t *testing.T) {
			vs := make([]Version, len(chain))
			for i, s := range chain {
				vs[i] = mustParse(t, s)
			}
			for i := range vs {
				for j := range vs {
					want := 0
					if i < j {
						want = -1
					} else if i > j {
						want = 1
					}
					if got := Compare(vs[i], vs[j]); got != want {
						t.Errorf("Compare(%s, %s) = %d, want %d", vs[i], vs[j], got, want)
					}
				}
			}
		})
	}
}

func parseAll(t *testing.T, ss ...string) []Version {
	t.Helper()
	vs := make([]Version, len(ss))
	for i, s := range ss {
		vs[i] = mustParse(t, s)
	}
	return vs
}

func strs(vs []Version) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

func TestSort(t *testing.T) {
	in := []string{"1.10.0", "1.0.0", "1.0.0-rc.1", "1.9.0", "0.0.10", "1.0.0+b", "0.0.9", "1.0.0-alpha", "1.0.0+a", "2.0.0-beta.11", "2.0.0-beta.2"}
	want := []string{"0.0.9", "0.0.10", "1.0.0-alpha", "1.0.0-rc.1", "1.0.0", "1.0.0+a", "1.0.0+b", "1.9.0", "1.10.0", "2.0.0-beta.2", "2.0.0-beta.11"}

	vs := parseAll(t, in...)
	Sort(vs)
	if got := strs(vs); !slices.Equal(got, want) {
		t.Errorf("Sort:\n got  %v\n want %v", got, want)
	}

	vs = parseAll(t, in...)
	SortDescending(vs)
	slices.Reverse(want)
	if got := strs(vs); !slices.Equal(got, want) {
		t.Errorf("SortDescending:\n got  %v\n want %v", got, want)
	}
}

func TestLatest(t *testing.T) {
	tests := []struct {
		name              string
		versions          []string
		includePrerelease bool
		want              string // "" means ok is false
	}{
		{"empty", nil, false, ""},
		{"empty with pre-releases", nil, true, ""},
		{"numeric not lexical", []string{"1.9.0", "1.10.0", "1.1.0"}, false, "1.10.0"},
		{"skips newer pre-release", []string{"1.0.0", "2.0.0-rc.1", "1.1.0"}, false, "1.1.0"},
		{"includes newer pre-release", []string{"1.0.0", "2.0.0-rc.1", "1.1.0"}, true, "2.0.0-rc.1"},
		{"release beats its pre-release", []string{"2.0.0-rc.1", "2.0.0"}, true, "2.0.0"},
		{"only pre-releases", []string{"1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-alpha"}, false, "1.0.0-beta.11"},
		{"single", []string{"0.1.0"}, false, "0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Latest(parseAll(t, tt.versions...), tt.includePrerelease)
			if tt.want == "" {
				if ok {
					t.Errorf("Latest = %s, true; want false", got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Errorf("Latest = %s, %v; want %s, true", got, ok, tt.want)
			}
		})
	}
}

func TestStringOfHandBuiltVersion(t *testing.T) {
	v := Version{Major: 1, Minor: 2, Patch: 3, Prerelease: "rc.1", Build: "b5"}
	if got, want := v.String(), "1.2.3-rc.1+b5"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
