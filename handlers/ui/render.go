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

// renderPart answers an htmx request aimed at target with fragment and
// every other request (a normal load, a history restore) with the full
// page: the same URL serves both, so links and forms work without scripts.
func renderPart(c *gin.Context, status int, full templ.Component, target string, fragment templ.Component) {
	if fragmentFor(c, target) {
		render(c, status, fragment)
		return
	}
	render(c, status, full)
}

// fragmentFor reports whether the request is htmx's, aimed at target.
func fragmentFor(c *gin.Context, target string) bool {
	return c.GetHeader("HX-Request") == "true" && c.GetHeader("HX-History-Restore-Request") != "true" &&
		c.GetHeader("HX-Target") == target
}

// contentSecurityPolicy lets pages load scripts, styles, images and
// requests from Cairn only: no inline script or style, no other origin,
// no framing. (form-action is left open: terraform login's consent form
// redirects to the CLI's loopback listener.)
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every page carries.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.Next()
}
