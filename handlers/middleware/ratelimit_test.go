package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// adminToken is a real api-scoped token of a fresh database's administrator,
// and the resolver that checks it.
func adminToken(t *testing.T) (*tokens.Resolver, string) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	enf, err := policies.NewEnforcer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.New(pool, enf).EnsureAdmin(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokens.NewService(pool, policies.NewAuthorizer(enf), nil).Bootstrap(ctx, users.System, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tokens.NewResolver(pool, nil), tok
}

func init() { gin.SetMode(gin.ReleaseMode) }

func TestAuthenticateRateLimitsFailures(t *testing.T) {
	t.Parallel()
	res, good := adminToken(t)
	now := time.Unix(1_800_000_000, 0)
	lim := middleware.NewAuthLimiter(10, time.Minute)
	lim.SetClock(func() time.Time { return now })
	r := gin.New()
	r.Use(middleware.RequestID(slog.New(slog.NewTextHandler(io.Discard, nil))))
	r.GET("/api/v4/user", middleware.Authenticate(res, middleware.WithAuthLimiter(lim)), func(c *gin.Context) {
		c.JSON(200, gin.H{"username": middleware.Principal(c).Name()})
	})
	call := func(addr, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v4/user", nil)
		req.RemoteAddr = addr + ":40000"
		req.Header.Set("PRIVATE-TOKEN", token)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w
	}
	// A wrong token whose first 12 characters differ from the real one's.
	bad := tokens.PATPrefix + "zzz" + strings.Repeat("x", 40)
	if strings.HasPrefix(good, bad[:12]) {
		bad = tokens.PATPrefix + "yyy" + strings.Repeat("x", 40)
	}
	for i := 1; i <= 10; i++ {
		if w := call("192.0.2.1", bad); w.Code != 401 {
			t.Fatalf("failure %d = %d %s, want 401", i, w.Code, w.Body)
		}
	}
	w := call("192.0.2.1", bad)
	if w.Code != 429 {
		t.Fatalf("11th failure = %d %s, want 429", w.Code, w.Body)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s <= 0 || s > 60 {
		t.Fatalf("Retry-After = %q, want seconds within the window", w.Header().Get("Retry-After"))
	}
	if !strings.Contains(w.Body.String(), `"message":"429 Too Many Requests`) {
		t.Fatalf("429 body = %s", w.Body)
	}
	// Even the right token is held back from the address under attack...
	if w := call("192.0.2.1", good); w.Code != 429 {
		t.Fatalf("correct token from the limited address = %d, want 429", w.Code)
	}
	// ...but works from another address, and successes never count.
	for i := 0; i < 15; i++ {
		if w := call("198.51.100.7", good); w.Code != 200 {
			t.Fatalf("correct token from another address = %d %s", w.Code, w.Body)
		}
	}
	// The same credential prefix is limited across addresses: a brute force
	// spread over many addresses is slowed too.
	for i := 0; i < 10; i++ {
		call("203.0.113."+strconv.Itoa(i+1), bad[:12]+strings.Repeat(strconv.Itoa(i), 40))
	}
	if w := call("203.0.113.99", bad[:12]+"fresh-address"); w.Code != 429 {
		t.Fatalf("prefix under attack from a fresh address = %d, want 429", w.Code)
	}
	now = now.Add(time.Minute + time.Second)
	if w := call("192.0.2.1", bad); w.Code != 401 {
		t.Fatalf("after the window = %d, want 401 again", w.Code)
	}
	if w := call("192.0.2.1", good); w.Code != 200 {
		t.Fatalf("correct token after the window = %d", w.Code)
	}
}

// The limiter tracks a bounded number of keys.
func TestAuthLimiterIsBounded(t *testing.T) {
	lim := middleware.NewAuthLimiter(3, time.Minute)
	lim.MaxKeys = 100
	for i := 0; i < 10_000; i++ {
		lim.Fail("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), "cairnpat-"+strconv.Itoa(i))
	}
	if n := lim.Len(); n > 2*100 {
		t.Fatalf("limiter tracks %d keys, cap is 100 per kind", n)
	}
	for i := 0; i < 3; i++ {
		lim.Fail("192.0.2.1", "")
	}
	if _, ok := lim.Allow("192.0.2.1", ""); ok {
		t.Fatal("the most recent offender was evicted")
	}
}
