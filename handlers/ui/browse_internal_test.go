package ui

import (
	"fmt"
	"testing"
)

// TestFacetsKeepTheLargest checks that a list page shows the maxFacets
// largest facets and every selected one, and counts the rest.
func TestFacetsKeepTheLargest(t *testing.T) {
	counts := map[string]int64{}
	for i := range 30 {
		counts[fmt.Sprintf("ns%02d", i)] = int64(100 - i)
	}
	out, more := facets(counts, []string{"ns29"}, func(n string) string { return "/modules?namespace=" + n })
	if len(out) != maxFacets+1 || more != 30-maxFacets-1 {
		t.Fatalf("%d facets shown, %d more; want %d and %d", len(out), more, maxFacets+1, 30-maxFacets-1)
	}
	for i := range maxFacets {
		if want := fmt.Sprintf("ns%02d", i); out[i].Name != want || out[i].URL != "/modules?namespace="+want {
			t.Fatalf("facet %d = %+v, want %s first by count", i, out[i], want)
		}
	}
	if last := out[maxFacets]; last.Name != "ns29" || !last.Selected {
		t.Fatalf("the selected facet beyond the largest = %+v", last)
	}
	if out, more := facets(map[string]int64{"a": 1}, nil, func(string) string { return "" }); len(out) != 1 || more != 0 {
		t.Fatalf("one facet: %v, %d more", out, more)
	}
}
