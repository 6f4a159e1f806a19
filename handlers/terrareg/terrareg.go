// Package terrareg serves Terrareg's API on Terrareg's own paths
// (/v1/terrareg/...): the catalog (namespaces, search, filters,
// analytics), each module provider's read API (details, versions,
// submodules, examples, READMEs, usage builder, graph, source zip) and the
// administration API (user groups, namespace permissions,
// is_authenticated, audit history).
// https://github.com/MatthewJohn/terrareg (terrareg/server/api/*.py)
package terrareg

import (
	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/users"
)

// API is the Terrareg surface.
type API struct {
	catalog *catalog
	modules *terraregModules
	admin   *terraregAdmin
}

// New returns the Terrareg surface.
func New(mods *modules.Service, groups *projects.Service, people *users.Service, history *audit.Service, site middleware.Site) *API {
	return &API{
		catalog: &catalog{svc: mods, site: site},
		modules: &terraregModules{svc: mods, groups: groups, site: site},
		admin:   &terraregAdmin{svc: people, audit: history},
	}
}

// Register mounts every Terrareg route; auth authenticates API calls.
func (a *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	a.catalog.register(r, auth)
	a.modules.register(r, auth)
	a.admin.register(r, auth)
}
