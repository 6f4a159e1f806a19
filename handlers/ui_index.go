package handlers

import (
	"net/http"
	"net/url"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/views"
)

// render writes a templ component with status through templ's buffered
// handler (never gin's HTML renderer), bound to the request context.
func render(c *gin.Context, status int, comp templ.Component) {
	templ.Handler(comp, templ.WithStatus(status)).ServeHTTP(c.Writer, c.Request)
}

func index(d Deps) gin.HandlerFunc {
	host := d.PublicURL
	if u, err := url.Parse(d.PublicURL); err == nil {
		host = u.Host
	}
	return func(c *gin.Context) {
		render(c, http.StatusOK, views.Index(d.PublicURL, host))
	}
}
