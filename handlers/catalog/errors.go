package catalog

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// writeError answers a failure in the registry's shape, {"errors": [...]}
// (with GitLab's "message" beside it, as the protocol endpoints answer);
// the one translation of errors for this surface.
func writeError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		middleware.Challenge(c)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"errors": []string{"Unauthorized: credentials are required for this module"}, "message": "401 Unauthorized"})
	case errs.Forbidden:
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"errors": []string{"Forbidden"}, "message": "403 Forbidden"})
	case errs.NotFound:
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": []string{"Not Found"}, "message": "404 Not Found"})
	case errs.Invalid:
		badRequest(c, errs.Message(err))
	case errs.Unavailable:
		middleware.Logger(c).Warn("catalog request failed: a dependency is unavailable", "error", err)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"errors": []string{"Service Unavailable: try again shortly"}})
	default:
		middleware.Logger(c).Error("catalog request failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"errors": []string{"Internal Server Error"}, "message": "500 Internal Server Error", "request_id": middleware.ID(c)})
	}
}

// badRequest answers malformed arguments.
func badRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{msg}})
}
