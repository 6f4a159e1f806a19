package middleware

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

const principalKey = "principal"

// Realm is the WWW-Authenticate realm of every 401.
const Realm = "cairn"

// Authenticate reads the request's credential (the one extraction point,
// tokens.Extract), resolves it and stores the principal. More than one
// credential → 400; a present but invalid one → 401 (never silently
// anonymous); none → anonymous. Only the API engine runs it: browser
// sessions never authenticate API calls.
//
// Failed authentications are counted per client address and per credential
// prefix (AuthLimiter, in memory: the limits are per replica); past the
// limit, requests presenting credentials are answered 429 with Retry-After
// before anything is checked.
func Authenticate(res *tokens.Resolver, opts ...AuthOption) gin.HandlerFunc {
	o := authOptions{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.limiter == nil {
		o.limiter = NewAuthLimiter(DefaultAuthFailures, DefaultAuthWindow)
	}
	return func(c *gin.Context) {
		cred, err := tokens.Extract(c.Request.Header)
		if errors.Is(err, tokens.ErrMultipleCredentials) {
			authFailed(c, authMultiple)
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "400 Bad request - " + err.Error()})
			return
		}
		if err != nil {
			if o.held(c, "") {
				return
			}
			o.limiter.Fail(c.ClientIP(), "")
			authFailed(c, authInvalid)
			Unauthorized(c)
			return
		}
		prefix := credentialPrefix(cred.Secret)
		if cred.Source != tokens.None && o.held(c, prefix) {
			return
		}
		p, err := res.Resolve(c.Request.Context(), cred)
		if err != nil {
			if errors.Is(err, tokens.ErrInvalidCredentials) || errors.Is(err, tokens.ErrInvalidJobToken) {
				Logger(c).Info("rejected credentials", "reason", err.Error())
				o.limiter.Fail(c.ClientIP(), prefix)
				authFailed(c, authInvalid)
				Unauthorized(c)
				return
			}
			Logger(c).Error("resolving credentials failed", "error", err)
			if errs.KindOf(err) == errs.Unavailable {
				authFailed(c, authUnavailable)
				c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"message": "503 Service Unavailable - credentials cannot be checked right now"})
				return
			}
			authFailed(c, authError)
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "500 Internal Server Error", "request_id": ID(c)})
			return
		}
		SetPrincipal(c, p)
		c.Next()
	}
}

// Challenge sets the WWW-Authenticate header of a 401.
func Challenge(c *gin.Context) {
	c.Header("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
}

// Unauthorized answers a credential problem: 401 with the challenge.
func Unauthorized(c *gin.Context) {
	Challenge(c)
	c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": "401 Unauthorized"})
}

// SetPrincipal stores the request's principal.
func SetPrincipal(c *gin.Context, p *policies.Principal) { c.Set(principalKey, p) }

// Principal returns the request's principal (anonymous when unset).
func Principal(c *gin.Context) *policies.Principal {
	if v, ok := c.Get(principalKey); ok {
		return v.(*policies.Principal)
	}
	return policies.AnonymousPrincipal
}
