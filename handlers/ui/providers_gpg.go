package ui

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
	"github.com/cairn-registry/cairn/views/admin"
)

// gpgKeysDispatch serves the GPG keys of a namespace (a top-level group)
// on its settings page: it adds the keys to the request of
// GET /groups/<path>/-/settings (the settings page shows them), and answers
// POST /groups/<path>/-/gpg-keys (add) and
// POST /groups/<path>/-/gpg-keys/<key id>/delete. Authorization is the
// providers service's, as for the TFE API's gpg-keys.
func (u *UI) gpgKeysDispatch(c *gin.Context) {
	path := c.Request.URL.Path
	i := strings.Index(path, "/-/")
	owner, ok := strings.CutPrefix(path[:max(i, 0)], "/groups/")
	if i <= 0 || !ok || owner == "" {
		c.Next()
		return
	}
	section, sub, _ := strings.Cut(path[i+3:], "/")
	m := c.Request.Method
	switch {
	case section == "settings" && sub == "" && (m == http.MethodGet || m == http.MethodHead):
		u.withGPGKeys(c, owner)
		c.Next()
	case section == "gpg-keys" && sub == "" && m == http.MethodPost:
		u.addGPGKey(c, owner)
		c.Abort()
	case section == "gpg-keys" && m == http.MethodPost && strings.HasSuffix(sub, "/delete") && strings.Count(sub, "/") == 1:
		u.deleteGPGKey(c, owner, strings.TrimSuffix(sub, "/delete"))
		c.Abort()
	default:
		c.Next()
	}
}

// gpgSection is the GPG keys section of namespace g for p.
func (u *UI) gpgSection(c *gin.Context, p *policies.Principal, g projects.Group, f admin.Form) (admin.GPGKeys, error) {
	keys, err := u.providers.Keys(c.Request.Context(), p, []string{g.FullPath})
	if err != nil {
		return admin.GPGKeys{}, err
	}
	authz := u.projects.Authorizer()
	s := admin.GPGKeys{Base: views.GroupURL(g.FullPath), Form: f,
		CanAdd: authz.Can(p, policies.CreatePackage, g.Resource()), CanDelete: authz.Can(p, policies.DestroyPackage, g.Resource())}
	for _, k := range keys {
		s.Keys = append(s.Keys, admin.GPGKey{KeyID: k.KeyID, CreatedAt: k.CreatedAt})
	}
	return s, nil
}

// withGPGKeys puts the section into the request when owner is a namespace
// the signed-in viewer sees; otherwise the settings page answers alone.
func (u *UI) withGPGKeys(c *gin.Context, owner string) {
	p := middleware.Principal(c)
	if p.Kind != policies.User {
		return
	}
	g, err := u.projects.GroupByPath(c.Request.Context(), p, owner)
	if err != nil || !g.TopLevel() {
		return
	}
	s, err := u.gpgSection(c, p, g, admin.NewForm())
	if err != nil {
		middleware.Logger(c).Warn("GPG keys of the settings page", "error", err)
		return
	}
	c.Request = c.Request.WithContext(admin.WithGPGKeys(c.Request.Context(), s))
}

// namespaceGroup is the top-level group owner for the viewer; ok is false
// when answered.
func (u *UI) namespaceGroup(c *gin.Context, owner string) (*policies.Principal, projects.Group, bool) {
	p, ok := u.viewer(c)
	if !ok {
		return nil, projects.Group{}, false
	}
	g, err := u.projects.GroupByPath(c.Request.Context(), p, owner)
	if err != nil {
		writeError(c, err)
		return nil, projects.Group{}, false
	}
	if !g.TopLevel() {
		NotFound(c)
		return nil, projects.Group{}, false
	}
	return p, g, true
}

func (u *UI) addGPGKey(c *gin.Context, owner string) {
	p, g, ok := u.namespaceGroup(c, owner)
	if !ok {
		return
	}
	f := admin.NewForm("ascii-armor", strings.TrimSpace(c.PostForm("ascii-armor")))
	k, err := u.providers.AddKey(c.Request.Context(), p, g.FullPath, f.V("ascii-armor")+"\n")
	if err != nil {
		if !u.formFailed(c, err, &f, "ascii-armor", "key-id") {
			return
		}
		if msg, ok := f.Errors["key-id"]; ok {
			delete(f.Errors, "key-id")
			f.Errors["ascii-armor"] = msg
		}
		s, err := u.gpgSection(c, p, g, f)
		if err != nil {
			writeError(c, err)
			return
		}
		c.Request = c.Request.WithContext(admin.WithGPGKeys(c.Request.Context(), s))
		u.groupSettings(c, p, g, http.StatusUnprocessableEntity, groupForm(g), admin.NewForm())
		return
	}
	u.done(c, views.GroupURL(g.FullPath)+"/-/settings#gpg-keys", "GPG key "+k.KeyID+" was added.")
}

func (u *UI) deleteGPGKey(c *gin.Context, owner, keyID string) {
	p, g, ok := u.namespaceGroup(c, owner)
	if !ok {
		return
	}
	if err := u.providers.DeleteKey(c.Request.Context(), p, g.FullPath, keyID); err != nil {
		u.refused(c, err)
		return
	}
	u.done(c, views.GroupURL(g.FullPath)+"/-/settings#gpg-keys", "GPG key "+strings.ToUpper(keyID)+" was deleted.")
}
