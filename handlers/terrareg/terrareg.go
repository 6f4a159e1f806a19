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
	catalog   *catalog
	modules   *terraregModules
	admin     *terraregAdmin
	write     *terraregWrite
	imports   *terraregImports   // git imports (imports.go); nil when off
	providers *terraregProviders // provider reads (providers.go); nil when off
}

// New returns the Terrareg surface.
func New(mods *modules.Service, groups *projects.Service, people *users.Service, history *audit.Service, site middleware.Site) *API {
	trm := &terraregModules{svc: mods, groups: groups, site: site}
	a := &API{
		catalog: &catalog{svc: mods, site: site},
		modules: trm,
		admin:   &terraregAdmin{svc: people, audit: history},
		write:   &terraregWrite{svc: mods, groups: groups, mods: trm},
	}
	a.catalog.api = a
	return a
}

// Register mounts every Terrareg route; auth authenticates API calls.
func (a *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	a.catalog.register(r, auth)
	a.modules.register(r, auth)
	a.admin.register(r, auth)
	a.write.register(r, auth)
	a.imports.register(r, auth)
	a.registerProviders(r, auth)
	a.registerSetup(r, auth)
	a.modules.registerAnalytics(r, auth)
}
