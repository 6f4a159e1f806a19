package catalog

import (
	"encoding/json"
	"net/http"
	"path"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
)

// registryDetails is the registry protocol's answer for one version: its
// outline, the root module and submodules, the providers (systems) the
// module is published for and every version, newest first.
type registryDetails struct {
	catalogOutline
	Root       registryPart   `json:"root"`
	Submodules []registryPart `json:"submodules"`
	Providers  []string       `json:"providers"`
	Versions   []string       `json:"versions"`
}

// registryPart is the root module or a submodule as the protocol describes
// it. Defaults are the variables' default values as JSON (null when none).
type registryPart struct {
	Path                 string                   `json:"path"`
	Name                 string                   `json:"name"`
	Readme               string                   `json:"readme"`
	Empty                bool                     `json:"empty"`
	Inputs               []registryInput          `json:"inputs"`
	Outputs              []registryOutput         `json:"outputs"`
	Dependencies         []registryDependency     `json:"dependencies"`
	ProviderDependencies []registryProviderDepend `json:"provider_dependencies"`
	Resources            []registryResource       `json:"resources"`
}

type registryInput struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Description string          `json:"description"`
	Default     json.RawMessage `json:"default"`
	Required    bool            `json:"required"`
}

type registryOutput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type registryDependency struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Version string `json:"version"`
}

type registryProviderDepend struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Source    string `json:"source"`
	Version   string `json:"version"`
}

type registryResource struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// registryPartOf describes one part; name is the module's name for the root,
// the directory's otherwise.
func registryPartOf(p metadata.Part, name string) registryPart {
	out := registryPart{Path: p.Path, Name: name, Readme: p.Readme, Empty: p.Empty,
		Inputs: []registryInput{}, Outputs: []registryOutput{}, Dependencies: []registryDependency{},
		ProviderDependencies: []registryProviderDepend{}, Resources: []registryResource{}}
	if p.Path != "" {
		out.Name = path.Base(p.Path)
	}
	for _, in := range p.Inputs {
		def := in.Default
		if len(def) == 0 {
			def = json.RawMessage("null")
		}
		out.Inputs = append(out.Inputs, registryInput{Name: in.Name, Type: in.Type, Description: in.Description,
			Default: def, Required: in.Required})
	}
	for _, o := range p.Outputs {
		out.Outputs = append(out.Outputs, registryOutput{Name: o.Name, Description: o.Description})
	}
	for _, d := range modules.Dependencies(p) {
		out.Dependencies = append(out.Dependencies, registryDependency{Name: d.Name, Source: d.Source, Version: d.Version})
	}
	for _, d := range modules.ProviderDependencies(p) {
		out.ProviderDependencies = append(out.ProviderDependencies,
			registryProviderDepend{Name: d.Name, Namespace: d.Namespace, Source: d.Source, Version: d.Version})
	}
	for _, r := range p.Resources {
		out.Resources = append(out.Resources, registryResource{Name: r.Name, Type: r.Type})
	}
	return out
}

// details is GET /v1/modules/:ns/:name/:system (the latest version) and
// .../:version.
func (rc *API) details(c *gin.Context) {
	mod, ok := rc.find(c)
	if !ok {
		return
	}
	var v modules.Version
	if ver := c.Param("version"); ver != "" {
		v, ok = mod.Version(ver)
	} else {
		v, ok = mod.Latest()
	}
	if !ok {
		writeError(c, errs.ErrNotFound)
		return
	}
	ctx, p := c.Request.Context(), middleware.Principal(c)
	info, err := rc.svc.VersionInfo(ctx, v)
	if err != nil {
		writeError(c, err)
		return
	}
	docs, err := rc.svc.Docs(ctx, v)
	if err != nil {
		writeError(c, err)
		return
	}
	// The systems this module name is published for, as the caller sees them.
	providers, err := rc.svc.Systems(ctx, p, mod.Namespace, mod.Name)
	if err != nil {
		writeError(c, err)
		return
	}
	versions := []string{}
	for _, x := range mod.SortedVersions() {
		versions = append(versions, x.Version)
	}
	out := registryDetails{
		catalogOutline: catalogOutline{
			ID:          mod.Namespace + "/" + mod.Name + "/" + mod.System + "/" + v.Version,
			Owner:       info.Owner,
			Namespace:   mod.Namespace,
			Name:        mod.Name,
			Version:     v.Version,
			Provider:    mod.System,
			Description: info.Description,
			Source:      rc.site.URL + "/" + mod.ProjectPath,
			PublishedAt: v.CreatedAt.UTC().Truncate(time.Microsecond),
			Downloads:   info.Downloads,
		},
		Root:       registryPartOf(docs.Root, mod.Name),
		Submodules: []registryPart{},
		Providers:  providers,
		Versions:   versions,
	}
	for _, sm := range docs.Submodules {
		out.Submodules = append(out.Submodules, registryPartOf(sm, ""))
	}
	c.JSON(http.StatusOK, out)
}
