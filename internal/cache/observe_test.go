package cache

import (
	"testing"
	"time"
)

func TestObserve(t *testing.T) {
	c := New[string, int](time.Minute, 10)
	var hits, misses int
	c.Observe(func(hit bool) {
		if hit {
			hits++
		} else {
			misses++
		}
	})
	now := time.Now()
	c.Get("a", now) // miss: absent
	c.Put(c.Generation(), "a", 1, now, time.Time{})
	c.Get("a", now)                    // hit
	c.Get("a", now.Add(2*time.Minute)) // miss: expired
	if hits != 1 || misses != 2 {
		t.Fatalf("hits, misses = %d, %d; want 1, 2", hits, misses)
	}
	c.Observe(nil)
	c.Get("a", now)
	if hits != 1 || misses != 2 {
		t.Fatalf("after Observe(nil): hits, misses = %d, %d; want 1, 2", hits, misses)
	}
}
