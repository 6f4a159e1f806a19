package terrareg

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// Terrareg's answers to refused requests (Flask's wording for 401 and 403).
const (
	trmUnauthorized = "The server could not verify that you are authorized to access the URL requested. " +
		"You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand " +
		"how to supply the credentials required."
	trmForbidden = "You don't have the permission to access the requested resource. " +
		"It is either read-protected or not readable by the server."
)

// writeError answers a failure of the catalog endpoints (lists, search,
// analytics): a 404 for what does not exist for the caller, 401 with a
// challenge when anonymous (Cairn's rule), 400 for bad arguments.
func writeError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		middleware.Unauthorized(c)
	case errs.NotFound:
		notFound(c)
	case errs.Invalid:
		badRequest(c, errs.Message(err))
	default:
		internalError(c, err)
	}
}

// writeModuleError answers a failure of the per-module and administration
// endpoints as Terrareg does: Flask's 401 and 403, 400 {"message"} for a
// named thing that does not exist ("User group does not exist.") and for
// invalid or conflicting requests, 404 for anything else missing.
func writeModuleError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		middleware.Challenge(c)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": trmUnauthorized})
	case errs.Forbidden:
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"message": trmForbidden})
	case errs.NotFound:
		if errs.FieldOf(err) != "" {
			badRequest(c, errs.Message(err))
			return
		}
		notFound(c)
	case errs.Invalid, errs.Conflict:
		badRequest(c, errs.Message(err))
	default:
		internalError(c, err)
	}
}

// notFound is Terrareg's 404.
func notFound(c *gin.Context) {
	c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": []string{"Not Found"}})
}

// badRequest is Terrareg's 400 {"message"}.
func badRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": msg})
}

func internalError(c *gin.Context, err error) {
	if errs.KindOf(err) == errs.Unavailable {
		middleware.Logger(c).Warn("terrareg request failed: a dependency is unavailable", "error", err)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"message": "Service Unavailable: try again shortly"})
		return
	}
	middleware.Logger(c).Error("terrareg request failed", "error", err)
	c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "Internal Server Error", "request_id": middleware.ID(c)})
}
