package terrareg

import (
	"testing"
	"time"
)

// Terrareg's VersionConstraint.is_compatible, case by case
// (terrareg/version_constraint.py).
func TestVersionCompatibility(t *testing.T) {
	for _, tc := range []struct{ constraint, target, want string }{
		{"", "1.5.0", compatNone},
		{">= 1.3", "1.5.0", compatImplicit},
		{">= 1.6", "1.5.0", compatNo},
		{"> 1.5.0", "1.5.0", compatNo},
		{"< 2.0.0", "1.5.0", compatImplicit},
		{"<= 1.4", "1.5.0", compatNo},
		{">= 1.3.0, < 2.0.0", "1.5.0", compatOK},
		{">= 1.3.0, < 2.0.0", "2.0.0", compatNo},
		{"~> 1.5.0", "1.5.9", compatOK},
		{"~> 1.5.0", "1.6.0", compatNo},
		{"~> 1.5", "1.9.0", compatOK},
		{"~> 1.5", "2.0.0", compatNo},
		{"~> 1", "7.0.0", compatOK},
		{"= 1.5.0", "1.5.0", compatOK},
		{"1.5.0", "1.5.1", compatNo},
		{"!= 1.5.0", "1.5.0", compatNo},
		{"!= 1.5.0", "1.5.1", compatImplicit},
		{">= banana", "1.5.0", compatError},
		{">= 1.3", "1.5", compatError},
		{">= 1.3", "latest", compatError},
	} {
		if got := versionCompatibility(tc.constraint, tc.target); got != tc.want {
			t.Errorf("versionCompatibility(%q, %q) = %s, want %s", tc.constraint, tc.target, got, tc.want)
		}
	}
}

// Python's datetime.isoformat() of a naive timestamp.
func TestTrmTime(t *testing.T) {
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 3, 5, 7, 8, 9, 0, time.UTC), "2024-03-05T07:08:09"},
		{time.Date(2024, 3, 5, 7, 8, 9, 123456789, time.UTC), "2024-03-05T07:08:09.123456"},
		{time.Date(2024, 3, 5, 8, 8, 9, 5000, time.FixedZone("x", 3600)), "2024-03-05T07:08:09.000005"},
	} {
		if got := trmTime(tc.in); got == nil || *got != tc.want {
			t.Errorf("trmTime(%v) = %v, want %s", tc.in, got, tc.want)
		}
	}
	if trmTime(time.Time{}) != nil {
		t.Error("zero time is not null")
	}
}
