package paging

import (
	"math"
	"slices"
	"testing"
)

func TestSlice(t *testing.T) {
	all := []int{1, 2, 3, 4, 5}
	for _, c := range []struct {
		number, size int
		want         []int
	}{
		{1, 2, []int{1, 2}},
		{3, 2, []int{5}},
		{4, 2, []int{}},
		{1, 100, []int{1, 2, 3, 4, 5}},
		{math.MaxInt, 100, []int{}},
		{0, 2, []int{}},
	} {
		if got := Slice(all, c.number, c.size); !slices.Equal(got, c.want) {
			t.Errorf("Slice(page %d, size %d) = %v, want %v", c.number, c.size, got, c.want)
		}
	}
}
