// Package gitlab serves GitLab's API under /api/v4: the REST subset
// (users, groups, projects, members, tokens) plus Cairn's own CI trust
// rules and package settings, and GitLab's Terraform Module Registry
// upload and project-level download, in GitLab's wire shapes so
// gitlab.com/gitlab-org/api/client-go and the GitLab Terraform provider
// work unchanged. GitLab's :id, a numeric id or a URL-encoded full path, is
// parsed here and nowhere else.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/
package gitlab

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/tokens"
	"github.com/cairn-registry/cairn/users"
)

// API serves the GitLab REST subset (users, groups, projects,
// members, tokens) plus Cairn's own CI trust rules, in GitLab's wire shapes
// so gitlab.com/gitlab-org/api/client-go and the GitLab Terraform provider
// work unchanged. Each resource file declares the narrow slice of the
// tenancy service it consumes.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/
type API struct {
	users    gitlabUsers
	groups   gitlabGroups
	projects gitlabProjects
	members  gitlabMembers
	tokens   gitlabTokens
	trust    gitlabTrust
	modules  *modules.Service
	site     middleware.Site
}

// New returns the GitLab surface.
func New(people *users.Service, tree *projects.Service, toks *tokens.Service, mods *modules.Service, site middleware.Site) *API {
	return &API{users: people, groups: tree, projects: tree, members: tree, tokens: toks, trust: toks, modules: mods, site: site}
}

// Register mounts the GitLab-compatible API under /api/v4. GitLab's :id is
// a numeric id or a URL-encoded full path (acme%2Fnet); the router matches
// on the raw path so the encoded slash stays inside one segment, and gin
// unescapes the value.
func (g *API) Register(r gin.IRouter, auth gin.HandlerFunc) {
	api := r.Group("/api/v4", auth)
	g.registerUsers(api)
	g.registerGroups(api)
	g.registerProjects(api)
	g.registerMembers(api)
	g.registerTokens(api)
	g.registerTrust(api)
	g.registerPackages(api)
}

// group resolves the :id parameter named param to a group the caller may
// see: a numeric id or a full path.
func (g *API) group(c *gin.Context, param string) (projects.Group, bool) {
	ref, p := c.Param(param), middleware.Principal(c)
	var gr projects.Group
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		gr, err = g.groups.GroupByID(c.Request.Context(), p, id)
	} else {
		gr, err = g.groups.GroupByPath(c.Request.Context(), p, strings.Trim(ref, "/"))
	}
	if err != nil {
		writeError(c, err)
		return projects.Group{}, false
	}
	return gr, true
}

// project resolves the :id parameter to a project the caller may see.
func (g *API) project(c *gin.Context) (projects.Project, bool) {
	ref, p := c.Param("id"), middleware.Principal(c)
	var pr projects.Project
	var err error
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		pr, err = g.projects.ProjectByID(c.Request.Context(), p, id)
	} else {
		pr, err = g.projects.ProjectByPath(c.Request.Context(), p, strings.Trim(ref, "/"))
	}
	if err != nil {
		writeError(c, err)
		return projects.Project{}, false
	}
	return pr, true
}

// glMaxBody bounds every request body the API reads.
const glMaxBody = 1 << 20

// glInvalid is a handler-side validation failure, translated by
// writeError like the service's own.
func glInvalid(format string, args ...any) error {
	return errs.Invalidf(format, args...)
}

// glBind decodes the request parameters into dst: a JSON body (what
// client-go sends), or else form fields and the query string (GitLab
// accepts all three). A malformed body is a 400 naming the field.
func glBind(c *gin.Context, dst any) bool {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, glMaxBody)
	var err error
	if c.ContentType() == binding.MIMEJSON {
		err = json.NewDecoder(c.Request.Body).Decode(dst)
		if errors.Is(err, io.EOF) {
			err = nil
		}
	} else {
		err = c.ShouldBindWith(dst, binding.Form)
	}
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		err = glInvalid("%s is invalid: expected %s", typeErr.Field, typeErr.Type)
	case errors.As(err, &syntaxErr):
		err = glInvalid("the request body is not valid JSON: %v", syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = glInvalid("the request body is not valid JSON: it ends early")
	default:
		err = glInvalid("%s", err.Error())
	}
	writeError(c, err)
	return false
}

// glPathID reads a numeric path parameter; anything else names nothing (404).
func glPathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(c, policies.NotFound(middleware.Principal(c)))
		return 0, false
	}
	return id, true
}

// glParam is a parameter a client may send as a JSON number or string (Grape,
// behind GitLab's API, coerces both), or as a form field.
type glParam string

// UnmarshalJSON accepts a number, a string or null.
func (p *glParam) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = glParam(s)
		return nil
	}
	// A number, or anything else kept verbatim so that parsing it fails
	// with the field's name.
	*p = glParam(b)
	return nil
}

// UnmarshalParam takes a form or query value.
func (p *glParam) UnmarshalParam(s string) error {
	*p = glParam(s)
	return nil
}

// int64 parses the parameter named name; ok is false when it is absent.
func (p glParam) int64(name string) (n int64, ok bool, err error) {
	if p == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(strings.TrimSpace(string(p)), 10, 64)
	if err != nil {
		return 0, false, glInvalid("%s is invalid: %q is not an integer", name, string(p))
	}
	return n, true, nil
}

// glExpiry is an expires_at parameter: a date (YYYY-MM-DD, which GitLab uses
// for personal access tokens and means midnight UTC) or an RFC 3339 time
// (what client-go sends for deploy tokens).
type glExpiry struct{ at *time.Time }

// UnmarshalJSON accepts a string or null.
func (e *glExpiry) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return glInvalid("expires_at must be a date (YYYY-MM-DD) or an RFC 3339 time")
	}
	return e.UnmarshalParam(s)
}

// UnmarshalParam parses a form or query value.
func (e *glExpiry) UnmarshalParam(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			e.at = &t
			return nil
		}
	}
	return glInvalid("expires_at %q must be a date (YYYY-MM-DD) or an RFC 3339 time", s)
}

// glDate renders a time as GitLab's ISO date (YYYY-MM-DD), nil as null.
func glDate(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.DateOnly)
	return &s
}

// GitLab's offset pagination: page from 1, per_page default 20, max 100.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/#offset-based-pagination
const (
	glDefaultPerPage = 20
	glMaxPerPage     = 100
	// glMaxPage keeps offsets within what the service's queries can address.
	glMaxPage = 100000
)

// glPager is one request's page.
type glPager struct {
	c       *gin.Context
	origin  string
	page    int
	perPage int
}

// pageOf reads page and per_page; a non-integer is a 400, out-of-range
// values are clamped as GitLab does.
func (g *API) pageOf(c *gin.Context) (*glPager, bool) {
	pg := &glPager{c: c, origin: g.site.Origin, page: 1, perPage: glDefaultPerPage}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &pg.page, glMaxPage}, {"per_page", &pg.perPage, glMaxPerPage}} {
		v := c.Query(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(c, glInvalid("%s is invalid", f.name))
			return nil, false
		}
		if n > 0 {
			*f.dst = min(n, f.max)
		}
	}
	return pg, true
}

// limit is how many rows to fetch: one more than a page, so a further row
// says there is a next page without counting them all.
func (pg *glPager) limit() int { return pg.perPage + 1 }

// offset is the number of rows before this page.
func (pg *glPager) offset() int { return (pg.page - 1) * pg.perPage }

// glSendFetched writes a page fetched with limit() and offset().
func glSendFetched[T any](pg *glPager, rows []T) {
	more := len(rows) > pg.perPage
	if more {
		rows = rows[:pg.perPage]
	}
	pg.headers(more, -1)
	pg.c.JSON(http.StatusOK, rows)
}

// glSendAll pages through a complete list held in memory.
func glSendAll[T any](pg *glPager, all []T) {
	start := min(pg.offset(), len(all))
	end := min(start+pg.perPage, len(all))
	pg.headers(end < len(all), len(all))
	pg.c.JSON(http.StatusOK, all[start:end])
}

// headers writes X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, X-Total and
// X-Total-Pages (when the total is known, total ≥ 0) and a Link header.
// An empty X-Next-Page ends client-go's iteration.
func (pg *glPager) headers(more bool, total int) {
	h := pg.c.Writer.Header()
	h.Set("X-Page", strconv.Itoa(pg.page))
	h.Set("X-Per-Page", strconv.Itoa(pg.perPage))
	next, prev := "", ""
	if more {
		next = strconv.Itoa(pg.page + 1)
	}
	if pg.page > 1 {
		prev = strconv.Itoa(pg.page - 1)
	}
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	links := []string{}
	if prev != "" {
		links = append(links, pg.link(pg.page-1, "prev"))
	}
	if next != "" {
		links = append(links, pg.link(pg.page+1, "next"))
	}
	links = append(links, pg.link(1, "first"))
	if total >= 0 {
		pages := max(1, (total+pg.perPage-1)/pg.perPage)
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
		links = append(links, pg.link(pages, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))
}

func (pg *glPager) link(page int, rel string) string {
	q := pg.c.Request.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("per_page", strconv.Itoa(pg.perPage))
	return "<" + pg.origin + pg.c.Request.URL.EscapedPath() + "?" + q.Encode() + `>; rel="` + rel + `"`
}
