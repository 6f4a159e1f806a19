package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/tokens"
)

// Mounts of the module protocol. Terraform's modules.v1 lives at /v1/modules/
// (advertised by discovery); GitLab and Terraform Enterprise clients use
// the other two with the same handlers.
const (
	modulesV1Base = "/v1/modules"
	gitlabV1Base  = "/api/v4/packages/terraform/modules/v1"
	tfeV1Base     = "/api/registry/v1/modules"
)

// moduleAPI serves module versions over the Terraform module registry
// protocol and GitLab's Terraform Module Registry API.
// https://developer.hashicorp.com/terraform/internals/module-registry-protocol
// https://docs.gitlab.com/api/packages/terraform-modules/
type moduleAPI struct {
	svc       *modules.Service
	signer    *tokens.DownloadSigner
	publicURL string
}

// discovery is GET /.well-known/terraform.json.
func discovery(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"modules.v1": modulesV1Base + "/"})
}

func registerModuleProtocol(r *gin.Engine, auth gin.HandlerFunc, m *moduleAPI) {
	r.GET("/.well-known/terraform.json", discovery)
	for _, base := range []string{modulesV1Base, gitlabV1Base, tfeV1Base} {
		g := r.Group(base, auth)
		g.GET("/:ns/:name/:system/versions", m.versions)
		g.GET("/:ns/:name/:system/download", m.latestDownload(base))
		g.GET("/:ns/:name/:system/:version/download", m.download)
		if base == gitlabV1Base {
			g.GET("/:ns/:name/:system", m.gitlabDetails)
			g.GET("/:ns/:name/:system/:version", m.gitlabDetails)
		}
	}
	// The archive itself: authorised by the signed token in the URL only
	// (terraform sends no credentials here), GET and HEAD.
	file := gitlabV1Base + "/:ns/:name/:system/:version/file"
	r.GET(file, m.file)
	r.HEAD(file, m.file)
}

// registryError writes the Terraform protocol's error shape.
func (m *moduleAPI) registryError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, policies.ErrUnauthenticated):
		c.Header("WWW-Authenticate", `Bearer realm="cairn"`)
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"errors": []string{"Unauthorized: credentials are required for this module"}, "message": "401 Unauthorized"})
	case errors.Is(err, policies.ErrForbidden):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"errors": []string{"Forbidden"}, "message": "403 Forbidden"})
	case errors.Is(err, policies.ErrNotFound):
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"errors": []string{"Not Found"}, "message": "404 Not Found"})
	default:
		Logger(c).Error("module request failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"errors": []string{"Internal Server Error"}, "message": "500 Internal Server Error"})
	}
}

func (m *moduleAPI) find(c *gin.Context) (*modules.Module, bool) {
	mod, err := m.svc.Find(c.Request.Context(), principal(c), c.Param("ns"), c.Param("name"), c.Param("system"))
	if err != nil {
		m.registryError(c, err)
		return nil, false
	}
	return mod, true
}

type providerRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type rootInfo struct {
	Dependencies []any         `json:"dependencies"`
	Providers    []providerRef `json:"providers"`
}

type versionInfo struct {
	Version    string   `json:"version"`
	Submodules []any    `json:"submodules"`
	Root       rootInfo `json:"root"`
}

// providersOf lists a version's required providers (local name and
// constraints), or the module's system when unknown.
func providersOf(v modules.Version, system string) []providerRef {
	if len(v.Providers) == 0 {
		return []providerRef{{Name: system, Version: ""}}
	}
	out := make([]providerRef, 0, len(v.Providers))
	for _, p := range v.Providers {
		out = append(out, providerRef{Name: p.Name, Version: p.Version})
	}
	return out
}

func (m *moduleAPI) sourceURL(mod *modules.Module) string {
	return m.publicURL + "/" + mod.ProjectPath
}

// versions lists every version, newest first, in GitLab's shape (a superset
// of the Terraform protocol's).
func (m *moduleAPI) versions(c *gin.Context) {
	mod, ok := m.find(c)
	if !ok {
		return
	}
	list := []versionInfo{}
	for _, v := range mod.SortedVersions() {
		list = append(list, versionInfo{Version: v.Version, Submodules: []any{},
			Root: rootInfo{Dependencies: []any{}, Providers: providersOf(v, mod.System)}})
	}
	c.JSON(http.StatusOK, gin.H{"modules": []gin.H{{"versions": list, "source": m.sourceURL(mod)}}})
}

// latestDownload redirects to the latest version's download.
func (m *moduleAPI) latestDownload(base string) gin.HandlerFunc {
	return func(c *gin.Context) {
		mod, ok := m.find(c)
		if !ok {
			return
		}
		latest, ok := mod.Latest()
		if !ok {
			m.registryError(c, policies.ErrNotFound)
			return
		}
		c.Redirect(http.StatusFound, fmt.Sprintf("%s/%s/%s/%s/%s/download", base,
			url.PathEscape(c.Param("ns")), url.PathEscape(mod.Name), url.PathEscape(mod.System), url.PathEscape(latest.Version)))
	}
}

// download answers 204 with X-Terraform-Get: a short-lived URL for the
// archive that carries no reusable credential.
func (m *moduleAPI) download(c *gin.Context) {
	mod, ok := m.find(c)
	if !ok {
		return
	}
	v, ok := mod.Version(c.Param("version"))
	if !ok {
		m.registryError(c, policies.ErrNotFound)
		return
	}
	loc, err := m.archiveURL(c, mod, v)
	if err != nil {
		m.registryError(c, err)
		return
	}
	m.svc.CountDownload(v.ID)
	c.Header("X-Terraform-Get", loc)
	c.Status(http.StatusNoContent)
}

// archiveURL is Cairn's own signed, short-lived file URL with go-getter's
// archive hint. When the blob store can presign, that URL redirects GETs to
// the object store (so archive bytes skip the app tier) while HEAD, which
// go-getter sends first and a GET-presigned S3 URL would refuse, is
// answered here.
func (m *moduleAPI) archiveURL(c *gin.Context, mod *modules.Module, v modules.Version) (string, error) {
	hint := "tgz"
	if v.ArchiveFormat == "zip" {
		hint = "zip"
	}
	tok := m.signer.Sign(v.BlobKey, principal(c).Name(), tokens.DownloadTTL)
	return fmt.Sprintf("%s%s/%s/%s/%s/%s/file?token=%s&archive=%s", m.publicURL, gitlabV1Base,
		url.PathEscape(mod.Namespace), url.PathEscape(mod.Name), url.PathEscape(mod.System), url.PathEscape(v.Version),
		url.QueryEscape(tok), hint), nil
}

func archiveName(mod *modules.Module, v modules.Version) string {
	ext := ".tar.gz"
	if v.ArchiveFormat == "zip" {
		ext = ".zip"
	}
	return fmt.Sprintf("%s-%s-%s%s", mod.Name, mod.System, v.Version, ext)
}

// file serves the archive to holders of a valid signed token.
func (m *moduleAPI) file(c *gin.Context) {
	tok := c.Query("token")
	v, mod, err := m.svc.ArchiveByToken(c.Request.Context(), c.Param("ns"), c.Param("name"), c.Param("system"), c.Param("version"),
		func(blobKey string) bool { _, err := m.signer.Verify(blobKey, tok); return err == nil })
	if err != nil {
		if errors.Is(err, policies.ErrForbidden) || errors.Is(err, policies.ErrNotFound) {
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"message": "403 Forbidden - " + tokens.ErrBadDownloadToken.Error()})
			return
		}
		m.registryError(c, err)
		return
	}
	if c.Request.Method == http.MethodGet {
		u, err := m.svc.Blobs().PresignGet(c.Request.Context(), v.BlobKey, time.Minute, archiveName(mod, v))
		if err == nil {
			c.Redirect(http.StatusFound, u)
			return
		}
		if !errors.Is(err, blobs.ErrPresignUnsupported) {
			m.registryError(c, err)
			return
		}
	}
	m.serveArchive(c, mod, v)
}

func (m *moduleAPI) serveArchive(c *gin.Context, mod *modules.Module, v modules.Version) {
	obj, info, err := m.svc.Blobs().Get(c.Request.Context(), v.BlobKey)
	if err != nil {
		m.registryError(c, err)
		return
	}
	defer obj.Close()
	c.Header("Content-Type", "application/octet-stream")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, archiveName(mod, v)))
	c.Header("X-Checksum-Sha256", v.Sha256)
	c.Header("Cache-Control", "private, no-store")
	http.ServeContent(c.Writer, c.Request, "", info.ModTime, obj)
}

// gitlabDetails answers GitLab's latest (no :version) or versioned details.
func (m *moduleAPI) gitlabDetails(c *gin.Context) {
	ver := c.Param("version")
	mod, ok := m.find(c)
	if !ok {
		return
	}
	var v modules.Version
	if ver == "" {
		v, ok = mod.Latest()
	} else {
		v, ok = mod.Version(ver)
	}
	if !ok {
		m.registryError(c, policies.ErrNotFound)
		return
	}
	all := []string{}
	for _, x := range mod.SortedVersions() {
		all = append(all, x.Version)
	}
	providers := []string{}
	for _, p := range providersOf(v, mod.System) {
		providers = append(providers, p.Name)
	}
	c.JSON(http.StatusOK, gin.H{
		"name":       mod.Name + "/" + mod.System,
		"provider":   mod.System,
		"providers":  providers,
		"root":       gin.H{"dependencies": []any{}},
		"source":     m.sourceURL(mod),
		"submodules": []any{},
		"version":    v.Version,
		"versions":   all,
	})
}

// gitlabModuleError maps publish errors to GitLab's statuses and messages.
func gitlabModuleError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, modules.ErrInvalidName):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"message": err.Error()})
	case errors.Is(err, modules.ErrTooLarge):
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": err.Error()})
	case errors.Is(err, modules.ErrInvalid):
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": modules.Message(err)})
	case errors.Is(err, modules.ErrDuplicate):
		c.Abort()
		c.PureJSON(http.StatusForbidden, gin.H{"message": modules.Message(err)}) // keep '&' readable, as GitLab does
	default:
		gitlabError(c, err)
	}
}

// upload is PUT /api/v4/projects/:id/packages/terraform/modules/:name/:system/:version/file
// with the archive as the body (curl --upload-file) or a multipart "file".
func (m *moduleAPI) upload(c *gin.Context) {
	body, size := c.Request.Body, c.Request.ContentLength
	if strings.HasPrefix(c.ContentType(), "multipart/form-data") {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			gitlabModuleError(c, fmt.Errorf("%w: %s", modules.ErrInvalid, "malformed multipart body"))
			return
		}
		body, size = nil, -1
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			if part.FormName() == "file" {
				body = part
				break
			}
		}
	}
	in := modules.PublishInput{ProjectRef: c.Param("id"), Name: c.Param("name"), System: c.Param("system"),
		Version: c.Param("version"), Size: size}
	if body != nil && size != 0 {
		in.Body = body
	}
	start := time.Now()
	v, err := m.svc.Publish(c.Request.Context(), principal(c), in)
	if err != nil {
		gitlabModuleError(c, err)
		return
	}
	Logger(c).Info("module version published", "module", c.Param("name")+"/"+c.Param("system"), "version", v.Version,
		"size", v.Size, "sha256", v.Sha256, "duration_ms", time.Since(start).Milliseconds())
	c.JSON(http.StatusCreated, gin.H{"message": "201 Created"})
}

// projectModule is GitLab's project-level download: the archive itself, or
// with ?terraform-get=1 a 204 + X-Terraform-Get (go-getter's HTTP protocol).
func (m *moduleAPI) projectModule(c *gin.Context) {
	mod, err := m.svc.FindInProject(c.Request.Context(), principal(c), c.Param("id"), c.Param("name"), c.Param("system"))
	if err != nil {
		gitlabError(c, err)
		return
	}
	var v modules.Version
	var ok bool
	if ver := c.Param("version"); ver != "" {
		v, ok = mod.Version(ver)
	} else {
		v, ok = mod.Latest()
	}
	if !ok {
		gitlabError(c, policies.ErrNotFound)
		return
	}
	if c.Query("terraform-get") == "1" {
		loc, err := m.archiveURL(c, mod, v)
		if err != nil {
			gitlabError(c, err)
			return
		}
		m.svc.CountDownload(v.ID)
		c.Header("X-Terraform-Get", loc)
		c.Status(http.StatusNoContent)
		return
	}
	m.svc.CountDownload(v.ID)
	m.serveArchive(c, mod, v)
}

func registerGitLabModules(api *gin.RouterGroup, m *moduleAPI) {
	api.PUT("/projects/:id/packages/terraform/modules/:name/:system/:version/file", m.upload)
	api.GET("/projects/:id/packages/terraform/modules/:name/:system", m.projectModule)
	api.GET("/projects/:id/packages/terraform/modules/:name/:system/:version", m.projectModule)
	api.GET("/projects/:id/packages", m.packages)
	api.DELETE("/projects/:id/packages/:package_id", m.deletePackage)
}
