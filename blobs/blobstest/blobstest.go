// Package blobstest is the one compliance suite every blobs.Store backend
// must pass.
package blobstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/blobs"
)

// Run exercises store; newKey must return a key unused so far in the store.
func Run(t *testing.T, store blobs.Store) {
	ctx := context.Background()
	var seq int
	var mu sync.Mutex
	newKey := func(prefix string) string {
		mu.Lock()
		defer mu.Unlock()
		seq++
		return fmt.Sprintf("compliance/%s/%d-%d", prefix, time.Now().UnixNano(), seq)
	}

	t.Run("PutGetRoundTrip", func(t *testing.T) {
		data := randomBytes(t, 100_000)
		key := newKey("roundtrip")
		info, err := store.Put(ctx, key, bytes.NewReader(data), blobs.PutOptions{Size: int64(len(data)), ContentType: "application/gzip"})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if info.Size != int64(len(data)) || info.SHA256 != sha(data) {
			t.Fatalf("Put info = size %d sha %s, want size %d sha %s", info.Size, info.SHA256, len(data), sha(data))
		}
		if got := read(t, store, key); !bytes.Equal(got, data) {
			t.Fatalf("Get returned %d bytes differing from the %d put", len(got), len(data))
		}
		st, err := store.Stat(ctx, key)
		if err != nil || st.Size != int64(len(data)) {
			t.Fatalf("Stat = %+v, %v; want size %d", st, err, len(data))
		}
	})

	t.Run("UnknownSizeStreamsLargerThanOnePart", func(t *testing.T) {
		// 40 MiB of unknown length crosses several S3 multipart parts.
		const n = 40 << 20
		src := io.LimitReader(rand.Reader, n)
		h := sha256.New()
		key := newKey("large")
		info, err := store.Put(ctx, key, io.TeeReader(src, h), blobs.PutOptions{})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		want := hex.EncodeToString(h.Sum(nil))
		if info.Size != n || info.SHA256 != want {
			t.Fatalf("Put info = %d/%s, want %d/%s", info.Size, info.SHA256, n, want)
		}
		obj, _, err := store.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		defer obj.Close()
		h2 := sha256.New()
		if _, err := io.Copy(h2, obj); err != nil {
			t.Fatalf("read back: %v", err)
		}
		if got := hex.EncodeToString(h2.Sum(nil)); got != want {
			t.Fatalf("read back sha %s, want %s", got, want)
		}
	})

	t.Run("MissingKey", func(t *testing.T) {
		key := newKey("missing")
		if _, _, err := store.Get(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Get missing: err = %v, want ErrNotFound", err)
		}
		if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Stat missing: err = %v, want ErrNotFound", err)
		}
		if err := store.Delete(ctx, key); err != nil {
			t.Fatalf("Delete missing: %v, want nil", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		key := newKey("delete")
		put(t, store, key, []byte("bye"))
		if err := store.Delete(ctx, key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Stat after delete: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("OverwriteReplaces", func(t *testing.T) {
		key := newKey("overwrite")
		put(t, store, key, []byte("first"))
		put(t, store, key, []byte("second version"))
		if got := read(t, store, key); string(got) != "second version" {
			t.Fatalf("after overwrite got %q", got)
		}
	})

	t.Run("InterruptedPutLeavesNothing", func(t *testing.T) {
		for _, size := range []int{10_000, 20 << 20} {
			key := newKey("interrupted")
			r := &failingReader{r: io.LimitReader(rand.Reader, int64(size)), failAfter: int64(size) / 2}
			if _, err := store.Put(ctx, key, r, blobs.PutOptions{}); err == nil {
				t.Fatalf("Put with a reader failing after %d bytes succeeded", size/2)
			}
			if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
				t.Fatalf("Stat after interrupted %d-byte put: err = %v, want ErrNotFound", size, err)
			}
			if _, _, err := store.Get(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
				t.Fatalf("Get after interrupted put: err = %v, want ErrNotFound", err)
			}
		}
	})

	t.Run("InterruptedPutKeepsPreviousObject", func(t *testing.T) {
		key := newKey("keep")
		put(t, store, key, []byte("original"))
		r := &failingReader{r: io.LimitReader(rand.Reader, 1<<20), failAfter: 1 << 19}
		if _, err := store.Put(ctx, key, r, blobs.PutOptions{}); err == nil {
			t.Fatal("Put with a failing reader succeeded")
		}
		if got := read(t, store, key); string(got) != "original" {
			t.Fatalf("after interrupted overwrite got %d bytes %q, want the original", len(got), trunc(got))
		}
	})

	t.Run("CancelledPutLeavesNothing", func(t *testing.T) {
		key := newKey("cancel")
		cctx, cancel := context.WithCancel(ctx)
		r := &cancellingReader{r: io.LimitReader(rand.Reader, 8<<20), after: 1 << 20, cancel: cancel}
		if _, err := store.Put(cctx, key, r, blobs.PutOptions{}); err == nil {
			t.Fatal("Put with a cancelled context succeeded")
		}
		if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Stat after cancelled put: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("ShortBodyForDeclaredSize", func(t *testing.T) {
		key := newKey("short")
		if _, err := store.Put(ctx, key, bytes.NewReader([]byte("abc")), blobs.PutOptions{Size: 10}); err == nil {
			t.Fatal("Put of 3 bytes declared as 10 succeeded")
		}
		if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Stat after short put: err = %v, want ErrNotFound", err)
		}
	})

	t.Run("MaxSize", func(t *testing.T) {
		key := newKey("toolarge")
		_, err := store.Put(ctx, key, io.LimitReader(rand.Reader, 2<<20), blobs.PutOptions{MaxSize: 1 << 20})
		if !errors.Is(err, blobs.ErrTooLarge) {
			t.Fatalf("Put over MaxSize: err = %v, want ErrTooLarge", err)
		}
		if _, err := store.Stat(ctx, key); !errors.Is(err, blobs.ErrNotFound) {
			t.Fatalf("Stat after too-large put: err = %v, want ErrNotFound", err)
		}
		exact := newKey("exact")
		if _, err := store.Put(ctx, exact, io.LimitReader(rand.Reader, 1<<20), blobs.PutOptions{MaxSize: 1 << 20}); err != nil {
			t.Fatalf("Put of exactly MaxSize: %v", err)
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		for _, key := range []string{"", "/abs", "a/../b", "..", "a//b", "Upper", "a/./b", "a b", "a/.hidden"} {
			if _, err := store.Put(ctx, key, bytes.NewReader(nil), blobs.PutOptions{}); !errors.Is(err, blobs.ErrInvalidKey) {
				t.Errorf("Put(%q): err = %v, want ErrInvalidKey", key, err)
			}
			if _, _, err := store.Get(ctx, key); !errors.Is(err, blobs.ErrInvalidKey) {
				t.Errorf("Get(%q): err = %v, want ErrInvalidKey", key, err)
			}
		}
	})

	t.Run("Seek", func(t *testing.T) {
		key := newKey("seek")
		put(t, store, key, []byte("0123456789"))
		obj, _, err := store.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		if _, err := obj.Seek(4, io.SeekStart); err != nil {
			t.Fatalf("Seek: %v", err)
		}
		buf := make([]byte, 3)
		if _, err := io.ReadFull(obj, buf); err != nil || string(buf) != "456" {
			t.Fatalf("read after seek = %q, %v; want 456", buf, err)
		}
	})

	t.Run("ConcurrentPutsSameKey", func(t *testing.T) {
		key := newKey("race")
		payloads := [][]byte{bytes.Repeat([]byte("a"), 300_000), bytes.Repeat([]byte("b"), 200_000), bytes.Repeat([]byte("c"), 100_000)}
		var wg sync.WaitGroup
		for _, p := range payloads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := store.Put(ctx, key, bytes.NewReader(p), blobs.PutOptions{}); err != nil {
					t.Errorf("concurrent Put: %v", err)
				}
			}()
		}
		wg.Wait()
		got := read(t, store, key)
		for _, p := range payloads {
			if bytes.Equal(got, p) {
				return
			}
		}
		t.Fatalf("after concurrent puts the object (%d bytes) is not any one complete payload", len(got))
	})

	t.Run("PresignGet", func(t *testing.T) {
		key := newKey("presign")
		put(t, store, key, []byte("presigned body"))
		u, err := store.PresignGet(ctx, key, time.Minute, "mod.tar.gz")
		if errors.Is(err, blobs.ErrPresignUnsupported) {
			if u != "" {
				t.Fatalf("unsupported presign returned URL %q", u)
			}
			return
		}
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET presigned URL: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "presigned body" {
			t.Fatalf("GET presigned URL = %d %q", resp.StatusCode, trunc(body))
		}
	})

	t.Run("List", func(t *testing.T) {
		base := newKey("list")
		data := map[string]string{base + "/a": "a", base + "/b/c": "bc", base + "/bx": "bx-bytes", base + "/b/d/e": "bde"}
		before := time.Now().Add(-time.Minute)
		for k, v := range data {
			put(t, store, k, []byte(v))
		}
		list := func(prefix string) map[string]blobs.Info {
			t.Helper()
			got := map[string]blobs.Info{}
			err := store.List(ctx, prefix, func(info blobs.Info) error {
				if _, dup := got[info.Key]; dup {
					t.Errorf("List(%q) gave %s twice", prefix, info.Key)
				}
				got[info.Key] = info
				return nil
			})
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			return got
		}
		keys := func(m map[string]blobs.Info) []string {
			out := make([]string, 0, len(m))
			for k := range m {
				out = append(out, k)
			}
			slices.Sort(out)
			return out
		}
		all := list(base + "/")
		if got, want := keys(all), []string{base + "/a", base + "/b/c", base + "/b/d/e", base + "/bx"}; !slices.Equal(got, want) {
			t.Fatalf("List(%q) = %v, want %v", base+"/", got, want)
		}
		for k, info := range all {
			if info.Size != int64(len(data[k])) || info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
				t.Errorf("List: %s = size %d, modified %v; want size %d, modified just now", k, info.Size, info.ModTime, len(data[k]))
			}
		}
		// A prefix is a string prefix, not a directory.
		for prefix, want := range map[string][]string{
			base + "/b":       {base + "/b/c", base + "/b/d/e", base + "/bx"},
			base + "/b/":      {base + "/b/c", base + "/b/d/e"},
			base + "/b/d/e":   {base + "/b/d/e"},
			base + "/nothing": {},
			base + "/a/":      {},
		} {
			if got := keys(list(prefix)); !slices.Equal(got, want) {
				t.Errorf("List(%q) = %v, want %v", prefix, got, want)
			}
		}
		if got := list(""); len(got) < len(data) {
			t.Errorf("List(\"\") gave %d objects, want at least the %d put", len(got), len(data))
		}
		if err := store.List(ctx, "a//b", func(blobs.Info) error { return nil }); !errors.Is(err, blobs.ErrInvalidKey) {
			t.Errorf("List(\"a//b\"): err = %v, want ErrInvalidKey", err)
		}
		// fn's error stops the listing and is returned.
		stop := errors.New("stop")
		calls := 0
		err := store.List(ctx, base+"/", func(blobs.Info) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("List with fn failing: %d calls, err %v; want 1 call and fn's error", calls, err)
		}
		// fn may delete what it is given.
		err = store.List(ctx, base+"/", func(info blobs.Info) error { return store.Delete(ctx, info.Key) })
		if err != nil {
			t.Fatalf("List deleting each object: %v", err)
		}
		if got := list(base + "/"); len(got) != 0 {
			t.Fatalf("after deleting every listed object List = %v, want none", keys(got))
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := store.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

func put(t *testing.T, s blobs.Store, key string, data []byte) {
	t.Helper()
	if _, err := s.Put(context.Background(), key, bytes.NewReader(data), blobs.PutOptions{Size: int64(len(data))}); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func read(t *testing.T, s blobs.Store, key string) []byte {
	t.Helper()
	obj, info, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	if info.Size != int64(len(b)) {
		t.Fatalf("Get %s: info size %d, read %d bytes", key, info.Size, len(b))
	}
	return b
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func trunc(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

var errInjected = errors.New("injected read failure")

type failingReader struct {
	r         io.Reader
	n         int64
	failAfter int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.failAfter {
		return 0, errInjected
	}
	if rem := f.failAfter - f.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	return n, err
}

type cancellingReader struct {
	r      io.Reader
	n      int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n >= c.after {
		c.cancel()
	}
	return n, err
}
