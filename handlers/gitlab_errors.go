package handlers

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/projects"
)

// gitlabError writes a domain error in GitLab's {"message": ...} shape; the
// one translation of domain errors for the /api/v4 surface.
func gitlabError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, projects.ErrUnauthenticated):
		unauthorized(c, "cairn")
	case errors.Is(err, projects.ErrForbidden):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"message": "403 Forbidden"})
	case errors.Is(err, projects.ErrNotFound):
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"message": "404 Not Found"})
	case errors.Is(err, projects.ErrInvalid):
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": projects.Message(err)})
	case errors.Is(err, projects.ErrConflict):
		c.AbortWithStatusJSON(http.StatusConflict, gin.H{"message": projects.Message(err)})
	default:
		Logger(c).Error("request failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "500 Internal Server Error"})
	}
}
