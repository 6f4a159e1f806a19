// Package ui serves Cairn's pages (templ + htmx) on the UI engine, the only
// engine that will see browser sessions. Every other URL a browser opens,
// including the web_url links the APIs hand out, lands here.
package ui

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/views"
)

// UI is the pages surface.
type UI struct {
	site middleware.Site
}

// New returns the pages surface.
func New(site middleware.Site) *UI {
	return &UI{site: site}
}

// Register mounts the pages.
func (u *UI) Register(r gin.IRouter) {
	r.GET("/", u.index)
}

func (u *UI) index(c *gin.Context) {
	render(c, http.StatusOK, views.Index(u.site.URL, u.site.TerraformHost))
}
