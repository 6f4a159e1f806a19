package ui

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/views"
)

// writeError answers a failed page: the 404 page for anything missing or
// hidden (identical for both), a 503 page when a dependency is down, the
// error page with the request id for the rest; never the error text.
func writeError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.NotFound, errs.Forbidden, errs.Unauthenticated:
		NotFound(c)
	case errs.Unavailable:
		middleware.Logger(c).Warn("page failed: a dependency is unavailable", "error", err)
		c.Abort()
		render(c, http.StatusServiceUnavailable, views.Problem(views.Chrome{Title: "Unavailable"}, "Cairn is unavailable",
			"Cairn cannot reach its database or storage right now. Try again in a moment."))
	default:
		middleware.Logger(c).Error("page failed", "error", err)
		Fail(c)
	}
}

// NotFound answers with the 404 page.
func NotFound(c *gin.Context) {
	c.Abort()
	render(c, http.StatusNotFound, views.NotFound(views.Chrome{Title: "Page not found"}, c.Request.URL.Path))
}

// Fail answers with the 500 page, showing the request id.
func Fail(c *gin.Context) {
	c.Abort()
	render(c, http.StatusInternalServerError, views.ServerError(views.Chrome{Title: "Something went wrong"}, middleware.ID(c)))
}
