package tfe

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// writeError answers a failure as JSON:API: {"errors":[{"status","title",
// "detail"}]} (go-tfe maps 401 and 404 to its own errors and shows the
// detail of the others); the one translation of errors for this surface.
func writeError(c *gin.Context, err error) {
	status, title, detail := http.StatusInternalServerError, "internal server error", "request "+middleware.ID(c)+" failed"
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		middleware.Challenge(c)
		status, title, detail = http.StatusUnauthorized, "unauthorized", "credentials are required"
	case errs.Forbidden:
		status, title, detail = http.StatusForbidden, "forbidden", "you may not do this"
		if m := errs.Message(err); m != "" && m != "forbidden" {
			detail = m
		}
	case errs.NotFound:
		status, title, detail = http.StatusNotFound, "not found", "not found"
	case errs.Invalid:
		status, title, detail = http.StatusUnprocessableEntity, "invalid attribute", errs.Message(err)
	case errs.Conflict:
		status, title, detail = http.StatusConflict, "conflict", errs.Message(err)
	case errs.TooLarge:
		status, title, detail = http.StatusRequestEntityTooLarge, "too large", errs.Message(err)
	case errs.Unavailable:
		middleware.Logger(c).Warn("TFE request failed: a dependency is unavailable", "error", err)
		status, title, detail = http.StatusServiceUnavailable, "service unavailable", "try again shortly"
	default:
		middleware.Logger(c).Error("TFE request failed", "error", err)
	}
	e := gin.H{"status": strconv.Itoa(status), "title": title, "detail": detail}
	if f := errs.FieldOf(err); f != "" && status == http.StatusUnprocessableEntity {
		e["source"] = gin.H{"pointer": "/data/attributes/" + f}
	}
	c.Header("Content-Type", jsonAPI)
	c.AbortWithStatusJSON(status, gin.H{"errors": []gin.H{e}})
}
