package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gin-gonic/gin/binding"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
)

// gitlabAPI serves the GitLab REST subset (users, groups, projects,
// members, tokens) plus Cairn's own CI trust rules, in GitLab's wire shapes
// so gitlab.com/gitlab-org/api/client-go and the GitLab Terraform provider
// work unchanged. Each resource file declares the narrow slice of the
// tenancy service it consumes.
//
// GitLab API docs: https://docs.gitlab.com/api/rest/
type gitlabAPI struct {
	users    gitlabUsers
	groups   gitlabGroups
	projects gitlabProjects
	members  gitlabMembers
	tokens   gitlabTokens
	trust    gitlabTrust
	// publicURL is the base of web_url fields, without a trailing slash.
	publicURL string
	// origin is publicURL's scheme and host, the base of Link headers.
	origin string
}

// registerGitLabAPI mounts the GitLab-compatible REST subset under /api/v4.
// GitLab's :id is a numeric id or a URL-encoded full path (acme%2Fnet);
// the router matches on the raw path so the encoded slash stays inside one
// segment, and gin unescapes the value.
func registerGitLabAPI(api *gin.RouterGroup, d Deps) {
	g := &gitlabAPI{
		users:     d.Projects,
		groups:    d.Projects,
		projects:  d.Projects,
		members:   d.Projects,
		tokens:    d.Projects,
		trust:     d.Projects,
		publicURL: strings.TrimRight(d.PublicURL, "/"),
	}
	if u, err := url.Parse(d.PublicURL); err == nil {
		g.origin = u.Scheme + "://" + u.Host
	}
	g.registerUsers(api)
	g.registerGroups(api)
	g.registerProjects(api)
	g.registerMembers(api)
	g.registerTokens(api)
	g.registerTrust(api)
}

// glMaxBody bounds every request body the API reads.
const glMaxBody = 1 << 20

// glInvalid is a handler-side validation failure, translated by
// gitlabError like the service's own.
func glInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", projects.ErrInvalid, fmt.Sprintf(format, args...))
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
		err = glInvalid("%s", projects.Message(err))
	}
	gitlabError(c, err)
	return false
}

// glPathID reads a numeric path parameter; anything else names nothing (404).
func glPathID(c *gin.Context, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		gitlabError(c, policies.NotFound(principal(c)))
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
func (g *gitlabAPI) pageOf(c *gin.Context) (*glPager, bool) {
	pg := &glPager{c: c, origin: g.origin, page: 1, perPage: glDefaultPerPage}
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
			gitlabError(c, glInvalid("%s is invalid", f.name))
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
