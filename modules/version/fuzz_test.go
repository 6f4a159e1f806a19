package version

import (
	"cmp"
	"errors"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// semverRegexp is the regular expression semver.org gives for SemVer 2.0.0,
// an oracle for Parse. Groups: major, minor, patch, pre-release, build.
var semverRegexp = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

var numericIdentifier = regexp.MustCompile(`^[0-9]+$`)

// maxUint64 is the largest major, minor or patch number Parse accepts.
var maxUint64 = new(big.Int).SetUint64(^uint64(0))

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("not a number: " + s)
	}
	return n
}

// refValid says whether Parse should accept s.
func refValid(s string) bool {
	m := semverRegexp.FindStringSubmatch(s)
	if m == nil || len(s) > MaxLength {
		return false
	}
	for _, n := range m[1:4] {
		if bigInt(n).Cmp(maxUint64) > 0 {
			return false
		}
	}
	return true
}

// refCompare orders two versions refValid accepts following the text of
// SemVer 2.0.0 section 11, on the strings, with big numbers: an oracle
// written apart from Compare. Build metadata, which precedence ignores,
// breaks ties as plain strings, as Compare documents.
func refCompare(a, b string) int {
	ma, mb := semverRegexp.FindStringSubmatch(a), semverRegexp.FindStringSubmatch(b)
	for i := 1; i <= 3; i++ {
		if c := bigInt(ma[i]).Cmp(bigInt(mb[i])); c != 0 {
			return c
		}
	}
	switch pa, pb := ma[4], mb[4]; {
	case pa == "" && pb == "":
	case pa == "":
		return 1
	case pb == "":
		return -1
	default:
		xs, ys := strings.Split(pa, "."), strings.Split(pb, ".")
		for i := 0; i < len(xs) && i < len(ys); i++ {
			x, y := xs[i], ys[i]
			xn, yn := numericIdentifier.MatchString(x), numericIdentifier.MatchString(y)
			var c int
			switch {
			case xn && yn:
				c = bigInt(x).Cmp(bigInt(y))
			case xn:
				c = -1
			case yn:
				c = 1
			default:
				c = strings.Compare(x, y)
			}
			if c != 0 {
				return c
			}
		}
		if c := cmp.Compare(len(xs), len(ys)); c != 0 {
			return c
		}
	}
	return strings.Compare(ma[5], mb[5])
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "1.2.3", "0.0.0", "1.0.0-alpha.1", "1.0.0-beta+exp.sha.5114f85", "v1.0.0", "1.0", "01.0.0",
		"1.0.0-", "1.0.0-01", "1..0", " 1.0.0", "18446744073709551616.0.0", "1.0.0+a..b", "1.0.0-x-y-z.--",
		"1.0.0-0A.is.legal", "1.0.0+001", "1.2.3-99999999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if want := refValid(s); (err == nil) != want {
			t.Fatalf("Parse(%q) error = %v; semver.org's expression (and the length and uint64 limits) say valid = %v", s, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not match ErrInvalid", s, err)
			}
			if err.Error() == "" || errors.Is(err, ErrEmpty) != (s == "") {
				t.Fatalf("Parse(%q) error = %q", s, err)
			}
			return
		}
		want := semverRegexp.FindStringSubmatch(s)[1:]
		got := []string{strconv.FormatUint(v.Major, 10), strconv.FormatUint(v.Minor, 10), strconv.FormatUint(v.Patch, 10), v.Prerelease, v.Build}
		if !slices.Equal(got, want) {
			t.Fatalf("Parse(%q) gives the parts %q, want %q", s, got, want)
		}
		if v.IsPrerelease() != (v.Prerelease != "") {
			t.Fatalf("Parse(%q).IsPrerelease() = %v", s, v.IsPrerelease())
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v.String())
		}
		again, err := Parse(v.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but reparsing its String() failed: %v", s, err)
		}
		if Compare(v, again) != 0 || again != v {
			t.Fatalf("Parse(%q) and its reparse differ", s)
		}
		hand := Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch, Prerelease: v.Prerelease, Build: v.Build}
		if hand.String() != s {
			t.Fatalf("fields of Parse(%q) format as %q", s, hand.String())
		}
		if Compare(hand, v) != 0 {
			t.Fatalf("a hand-built copy of %q compares unequal to it", s)
		}
	})
}

// FuzzCompare checks Compare against refCompare on the valid versions among
// three strings, and that it is an order (antisymmetric, 0 only for equal
// versions, transitive) that Sort, SortDescending and Latest follow.
func FuzzCompare(f *testing.F) {
	f.Add("1.0.0-alpha", "1.0.0-alpha.1", "1.0.0")
	f.Add("1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1")
	f.Add("1.0.0+b", "1.0.0+a", "1.0.0-rc.1+zzz")
	f.Add("1.0.0-2", "1.0.0-10", "1.0.0-99999999999999999999")
	f.Add("1.9.0", "1.10.0", "18446744073709551615.0.0")
	f.Add("1.0.0-alpha.0", "1.0.0-alpha.-", "1.0.0-A")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var vs []Version
		for _, s := range []string{a, b, c} {
			if v, err := Parse(s); err == nil {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			return
		}
		for _, x := range vs {
			for _, y := range vs {
				got := Compare(x, y)
				if want := refCompare(x.String(), y.String()); got != want {
					t.Errorf("Compare(%s, %s) = %d, want %d", x, y, got, want)
				}
				if back := Compare(y, x); back != -got {
					t.Errorf("Compare(%s, %s) = %d but Compare(%[2]s, %[1]s) = %[4]d", x, y, got, back)
				}
				if (got == 0) != (x == y) {
					t.Errorf("Compare(%s, %s) = %d", x, y, got)
				}
			}
		}
		for _, x := range vs {
			for _, y := range vs {
				for _, z := range vs {
					if Compare(x, y) <= 0 && Compare(y, z) <= 0 && Compare(x, z) > 0 {
						t.Errorf("Compare is not transitive: %s <= %s <= %s but %[1]s > %[3]s", x, y, z)
					}
				}
			}
		}

		sorted := slices.Clone(vs)
		Sort(sorted)
		if !slices.IsSortedFunc(sorted, func(x, y Version) int { return refCompare(x.String(), y.String()) }) {
			t.Errorf("Sort gave %v", sorted)
		}
		desc := slices.Clone(vs)
		SortDescending(desc)
		slices.Reverse(desc)
		if !slices.Equal(desc, sorted) {
			t.Errorf("SortDescending gave the reverse of %v", desc)
		}

		if got, ok := Latest(vs, true); !ok || got != sorted[len(sorted)-1] {
			t.Errorf("Latest(%v, true) = %s, %v; want %s", vs, got, ok, sorted[len(sorted)-1])
		}
		releases := slices.DeleteFunc(slices.Clone(sorted), Version.IsPrerelease)
		want := sorted[len(sorted)-1] // only pre-releases: the highest of them
		if len(releases) > 0 {
			want = releases[len(releases)-1]
		}
		if got, ok := Latest(vs, false); !ok || got != want {
			t.Errorf("Latest(%v, false) = %s, %v; want %s", vs, got, ok, want)
		}
	})
}
