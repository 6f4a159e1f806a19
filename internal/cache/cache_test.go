package cache

import (
	"testing"
	"time"
)

func TestGetPutExpiry(t *testing.T) {
	c := New[string, int](time.Minute, 10)
	now := time.Unix(1000, 0)
	c.Put(c.Generation(), "a", 1, now, time.Time{})
	if v, ok := c.Get("a", now.Add(59*time.Second)); !ok || v != 1 {
		t.Fatalf("Get before the TTL = %d, %v; want 1, true", v, ok)
	}
	if _, ok := c.Get("a", now.Add(time.Minute)); ok {
		t.Fatal("Get at the TTL found the entry; want it expired")
	}
	c.Put(c.Generation(), "b", 2, now, now.Add(time.Second))
	if _, ok := c.Get("b", now.Add(2*time.Second)); ok {
		t.Fatal("an entry with an earlier bound outlived it")
	}
}

func TestClearAndCapacity(t *testing.T) {
	c := New[int, int](time.Minute, 80)
	now := time.Now()
	c.Put(c.Generation(), -1, -1, now, now.Add(time.Second)) // expires first
	for i := range 79 {
		c.Put(c.Generation(), i, i, now, time.Time{})
	}
	later := now.Add(2 * time.Second)
	c.Put(c.Generation(), 0, 0, later, time.Time{}) // present: replaced, nothing evicted
	if n := c.len(); n != 80 {
		t.Fatalf("replacing an entry of a full cache left %d entries", n)
	}
	c.Put(c.Generation(), 100, 100, later, time.Time{}) // full: evicts the expired and an eighth
	if _, ok := c.entries[-1]; ok {
		t.Fatal("eviction kept an expired entry")
	}
	if n := c.len(); n != 70 {
		t.Fatalf("after eviction the cache holds %d entries, want 69 kept + 1 new", n)
	}
	if _, ok := c.Get(100, later); !ok {
		t.Fatal("the entry put into a full cache is missing")
	}
	c.Clear()
	if _, ok := c.Get(100, later); ok || c.len() != 0 {
		t.Fatal("Clear left an entry")
	}
}

func (c *Cache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// TestRevokedCredentialNotRecached is the regression test of the finding
// "revoked credential re-cached": a lookup that read the database before a
// revocation must not put the old answer back after the revocation cleared
// the cache.
func TestRevokedCredentialNotRecached(t *testing.T) {
	c := New[string, string](time.Minute, 10)
	now := time.Now()
	gen := c.Generation() // the lookup starts and reads the token: still valid
	c.Clear()             // meanwhile the token is revoked and the cache cleared
	c.Put(gen, "token", "principal", now, time.Time{})
	if _, ok := c.Get("token", now); ok {
		t.Fatal("a lookup begun before a Clear put its stale answer back")
	}
	c.Put(c.Generation(), "token", "principal", now, time.Time{})
	if _, ok := c.Get("token", now); !ok {
		t.Fatal("a lookup begun after the Clear was not cached")
	}
}

// TestDeleteFunc drops the selected entries, keeps the others, and stops a
// lookup begun before it from putting its answer back.
func TestDeleteFunc(t *testing.T) {
	c := New[string, int](time.Minute, 10)
	now := time.Now()
	for i, k := range []string{"a\x00x", "a\x00y", "b\x00x"} {
		c.Put(c.Generation(), k, i, now, time.Time{})
	}
	gen := c.Generation() // a lookup of a/z starts
	c.DeleteFunc(func(k string) bool { return k[0] == 'a' })
	if _, ok := c.Get("a\x00x", now); ok {
		t.Fatal("a selected entry survived")
	}
	if v, ok := c.Get("b\x00x", now); !ok || v != 2 {
		t.Fatalf("an unselected entry = %v, %v", v, ok)
	}
	c.Put(gen, "a\x00z", 9, now, time.Time{})
	if _, ok := c.Get("a\x00z", now); ok {
		t.Fatal("a lookup begun before DeleteFunc put its answer back")
	}
}
