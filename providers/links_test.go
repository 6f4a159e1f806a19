package providers

import (
	"net/url"
	"testing"
)

func TestAppendPathSegmentMatchesPathEscape(t *testing.T) {
	for _, s := range []string{"", "abc-DEF_0.9~", "a/b", "a b", "a&b;c,d?e", "ü", "terraform-provider-x_1.0.0_SHA256SUMS.sig"} {
		if got, want := string(appendPathSegment([]byte("x"), s)), "x"+url.PathEscape(s); got != want {
			t.Errorf("appendPathSegment(%q) = %q, want %q", s, got, want)
		}
	}
}
