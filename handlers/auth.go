package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

const principalKey = "principal"

// authenticate reads the request's credential (the one extraction point,
// tokens.Extract), resolves it and stores the principal. More than one
// credential → 400; a present but invalid one → 401 (never silently
// anonymous); none → anonymous.
func authenticate(res *tokens.Resolver, realm string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cred, err := tokens.Extract(c.Request.Header)
		if errors.Is(err, tokens.ErrMultipleCredentials) {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "400 Bad request - " + err.Error()})
			return
		}
		if err != nil {
			unauthorized(c, realm)
			return
		}
		p, err := res.Resolve(c.Request.Context(), cred)
		if err != nil {
			if errors.Is(err, tokens.ErrInvalidCredentials) || errors.Is(err, tokens.ErrInvalidJobToken) {
				Logger(c).Info("rejected credentials", "reason", err.Error())
				unauthorized(c, realm)
				return
			}
			Logger(c).Error("resolving credentials failed", "error", err)
			c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "500 Internal Server Error"})
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

func unauthorized(c *gin.Context, realm string) {
	c.Header("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": "401 Unauthorized"})
}

// principal returns the request's principal (anonymous when unset).
func principal(c *gin.Context) *policies.Principal {
	if v, ok := c.Get(principalKey); ok {
		return v.(*policies.Principal)
	}
	return policies.AnonymousPrincipal
}
