package gitlab

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// GitLab's messages for refused module uploads.
const (
	msgInvalidName = "Validation failed: Name is invalid"
	msgTooLarge    = "File is too large"
	msgSameVersion = "A module with the same name & version already exists in the project."
	msgSameName    = "A module with the same name already exists in the namespace."
)

// writeError writes an error in GitLab's {"message": ...} shape; the one
// translation of errors for the /api/v4 surface.
func writeError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		middleware.Unauthorized(c)
	case errs.Forbidden:
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"message": "403 Forbidden"})
	case errs.NotFound:
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"message": "404 Not Found"})
	case errs.Invalid:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": errs.Message(err)})
	case errs.TooLarge:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": msgTooLarge})
	case errs.Conflict:
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{"message": errs.Message(err)})
	case errs.Unavailable:
		middleware.Logger(c).Warn("request failed: a dependency is unavailable", "error", err)
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"message": "503 Service Unavailable"})
	default:
		middleware.Logger(c).Error("request failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "500 Internal Server Error", "request_id": middleware.ID(c)})
	}
}

// writeUploadError maps a refused module upload to GitLab's statuses and
// messages: an invalid name is 422, a duplicate 403 (GitLab's choice).
func writeUploadError(c *gin.Context, err error) {
	switch kind, field := errs.KindOf(err), errs.FieldOf(err); {
	case kind == errs.Invalid && field == "name":
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"message": msgInvalidName})
	case kind == errs.Conflict && (field == "version" || field == "name"):
		msg := msgSameVersion
		if field == "name" {
			msg = msgSameName
		}
		c.Abort()
		c.PureJSON(http.StatusForbidden, gin.H{"message": msg}) // keep '&' readable, as GitLab does
	default:
		writeError(c, err)
	}
}
