package ui

import (
	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"
)

// render writes a templ component with status through templ's buffered
// handler (never gin's HTML renderer), bound to the request context.
func render(c *gin.Context, status int, comp templ.Component) {
	c.Header("Vary", "HX-Request")
	templ.Handler(comp, templ.WithStatus(status)).ServeHTTP(c.Writer, c.Request)
}
