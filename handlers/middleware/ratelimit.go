package middleware

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// Defaults of the failed-authentication limiter Authenticate uses.
const (
	DefaultAuthFailures = 10              // failures allowed per window
	DefaultAuthWindow   = 5 * time.Minute // window, from the first failure
	DefaultAuthMaxKeys  = 10_000          // addresses (and as many prefixes) tracked
)

// credentialPrefixLen is how much of a presented secret keys the per-prefix
// count: a leaked token prefix brute-forced from many addresses is slowed as
// a whole.
const credentialPrefixLen = 12

// AuthLimiter counts failed authentications per client address and per
// credential prefix, and holds back further attempts once either has failed
// Max times within Window (fixed window, from the first failure). Only
// failures count; a successful authentication never does.
//
// The counts live in memory: limits are per replica (N replicas allow up to
// N×Max failures per window). Memory is bounded: at most MaxKeys addresses
// and MaxKeys prefixes are tracked; when full, expired entries are dropped,
// then the entry whose window started first.
type AuthLimiter struct {
	Max     int
	Window  time.Duration
	MaxKeys int

	mu       sync.Mutex
	now      func() time.Time
	addrs    map[string]*failures
	prefixes map[string]*failures
}

type failures struct {
	start time.Time
	count int
}

// NewAuthLimiter allows max failures per window for each address and each
// credential prefix.
func NewAuthLimiter(max int, window time.Duration) *AuthLimiter {
	return &AuthLimiter{
		Max: max, Window: window, MaxKeys: DefaultAuthMaxKeys, now: time.Now,
		addrs: map[string]*failures{}, prefixes: map[string]*failures{},
	}
}

// SetClock replaces the limiter's clock (tests).
func (l *AuthLimiter) SetClock(now func() time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}

// Allow reports whether an attempt from addr presenting a credential that
// starts with prefix may be checked, and if not, how long until it may.
// An empty prefix (no readable secret) is not counted.
func (l *AuthLimiter) Allow(addr, prefix string) (retryAfter time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, b := range []*failures{l.addrs[addrKey(addr)], l.prefixes[prefix]} {
		if b == nil || b.count < l.Max {
			continue
		}
		if left := b.start.Add(l.Window).Sub(now); left > retryAfter {
			retryAfter = left
		}
	}
	return retryAfter, retryAfter <= 0
}

// Fail records a failed authentication from addr with prefix.
func (l *AuthLimiter) Fail(addr, prefix string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.count(l.addrs, addrKey(addr), now)
	if prefix != "" {
		l.count(l.prefixes, prefix, now)
	}
}

// Len is the number of tracked entries (addresses and prefixes).
func (l *AuthLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs) + len(l.prefixes)
}

func (l *AuthLimiter) count(m map[string]*failures, key string, now time.Time) {
	b := m[key]
	if b != nil && !now.Before(b.start.Add(l.Window)) {
		b = nil // window over: start afresh
	}
	if b == nil {
		if _, tracked := m[key]; !tracked && len(m) >= l.MaxKeys {
			l.evict(m, now)
		}
		b = &failures{start: now}
		m[key] = b
	}
	b.count++
}

// evict makes room in a full map: expired entries first, else the oldest.
func (l *AuthLimiter) evict(m map[string]*failures, now time.Time) {
	var oldest string
	var oldestStart time.Time
	for k, b := range m {
		if !now.Before(b.start.Add(l.Window)) {
			delete(m, k)
			continue
		}
		if oldest == "" || b.start.Before(oldestStart) {
			oldest, oldestStart = k, b.start
		}
	}
	if len(m) >= l.MaxKeys && oldest != "" {
		delete(m, oldest)
	}
}

// addrKey is the address a count is kept for: an IPv4 address, or the /64
// of an IPv6 one (a single client usually holds a whole /64).
func addrKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// credentialPrefix is the part of a secret the per-prefix count is kept for.
// CI job tokens are JWTs, whose first characters are the same for everyone
// (the encoded header, "eyJ..."): they are counted per address only.
func credentialPrefix(secret string) string {
	if len(secret) < credentialPrefixLen || strings.HasPrefix(secret, "eyJ") {
		return ""
	}
	return secret[:credentialPrefixLen]
}

// retryAfterSeconds is a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// AuthOption configures Authenticate.
type AuthOption func(*authOptions)

type authOptions struct{ limiter *AuthLimiter }

// WithAuthLimiter counts failures in l instead of a limiter of its own
// (DefaultAuthFailures per DefaultAuthWindow).
func WithAuthLimiter(l *AuthLimiter) AuthOption { return func(o *authOptions) { o.limiter = l } }

// held answers 429 (with Retry-After, in the API's {"message"} shape) when
// the client's address or the credential prefix has failed too often.
func (o *authOptions) held(c *gin.Context, prefix string) bool {
	wait, ok := o.limiter.Allow(c.ClientIP(), prefix)
	if ok {
		return false
	}
	Logger(c).Warn("too many failed authentications; request held back", "remote", c.ClientIP(), "retry_after_s", retryAfterSeconds(wait))
	c.Header("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"message": "429 Too Many Requests - too many failed authentication attempts, retry later"})
	return true
}
