package ui

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/views"
)

// pageSize is how many modules a list page shows.
const pageSize = 20

// index is the landing page.
func (u *UI) index(c *gin.Context) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	l := views.Landing{Host: u.site.TerraformHost, URL: u.site.URL}
	var err error
	if l.Stats, err = u.modules.Stats(ctx, p); err != nil {
		writeError(c, err)
		return
	}
	if o, ok, err := u.modules.MostRecentlyPublished(ctx, p); err != nil {
		writeError(c, err)
		return
	} else if ok {
		l.Recent = &o
	}
	if o, ok, err := u.modules.MostDownloadedThisWeek(ctx, p); err != nil {
		writeError(c, err)
		return
	} else if ok {
		l.Popular = &o
	}
	render(c, http.StatusOK, views.Index(u.chrome(c, "Terraform registry"), l))
}

// listArgs reads the list arguments of a list or search page.
func listArgs(c *gin.Context) (q string, page int, namespaces, systems []string) {
	q = strings.TrimSpace(c.Query("q"))
	page, err := strconv.Atoi(c.Query("page"))
	if err != nil || page < 1 || page > 10000 {
		page = 1
	}
	return q, page, nonEmpty(c.QueryArray("namespace")), nonEmpty(c.QueryArray("provider"))
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// listURL is path with a list's arguments.
func listURL(path, q string, namespaces, systems []string, page int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	for _, n := range namespaces {
		v.Add("namespace", n)
	}
	for _, s := range systems {
		v.Add("provider", s)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// toggle adds s to ss, or removes it when present.
func toggle(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return slices.DeleteFunc(slices.Clone(ss), func(x string) bool { return x == s })
	}
	return append(slices.Clone(ss), s)
}

// facets turns counts into links toggling each on the current search.
// maxFacets is how many facets of a kind a list page shows (the largest;
// selected ones are always shown): at 10,000 namespaces the list would
// weigh a megabyte.
const maxFacets = 12

// facets turns counts into links, largest first, at most maxFacets of them
// plus any selected beyond; it also returns how many were left out.
func facets(counts map[string]int64, selected []string, link func(name string) string) ([]views.Facet, int) {
	all := make([]views.Facet, 0, len(counts))
	for name, n := range counts {
		all = append(all, views.Facet{Name: name, Count: n, Selected: slices.Contains(selected, name)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Count != all[j].Count {
			return all[i].Count > all[j].Count
		}
		return all[i].Name < all[j].Name
	})
	var out []views.Facet
	for i, f := range all {
		if i < maxFacets || f.Selected {
			f.URL = link(f.Name)
			out = append(out, f)
		}
	}
	return out, len(all) - len(out)
}

// search is /modules and /modules/search: every module the viewer may
// read, or those matching q, with namespace and system filters. An htmx
// request from the search box gets the results only.
func (u *UI) search(c *gin.Context) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	q, page, namespaces, systems := listArgs(c)
	action := "/modules/search"
	res, err := u.modules.Search(ctx, p, modules.SearchQuery{Q: q, Namespaces: namespaces, Providers: systems,
		WithTotal: true, Offset: (page - 1) * pageSize, Limit: pageSize})
	if err != nil {
		writeError(c, err)
		return
	}
	f, err := u.modules.Facets(ctx, p, q)
	if err != nil {
		writeError(c, err)
		return
	}
	s := views.SearchPage{Heading: "Modules", Action: action, Q: q, Namespaces: namespaces, Systems: systems,
		Page: res, Total: int64(res.Total), PageNo: page}
	s.NamespaceFacets, s.NamespaceFacetsMore = facets(f.Namespaces, namespaces, func(n string) string {
		return listURL(action, q, toggle(namespaces, n), systems, 1)
	})
	s.SystemFacets, s.SystemFacetsMore = facets(f.Providers, systems, func(n string) string {
		return listURL(action, q, namespaces, toggle(systems, n), 1)
	})
	u.renderList(c, s)
}

// renderList pages s and renders it: the results only for the search box's
// htmx requests.
func (u *UI) renderList(c *gin.Context, s views.SearchPage) {
	if s.PageNo > 1 && s.Prev == "" {
		s.Prev = listURL(s.Action, s.Q, s.Namespaces, s.Systems, s.PageNo-1)
	}
	if s.Page.More && s.Next == "" {
		s.Next = listURL(s.Action, s.Q, s.Namespaces, s.Systems, s.PageNo+1)
	}
	title := s.Heading
	if s.Q != "" {
		title = "“" + s.Q + "” · " + title
	}
	renderPart(c, http.StatusOK, views.Search(u.chrome(c, views.PageTitle(title, s.PageNo)), s), "results", views.Results(s))
}

// namespace is /modules/:ns, the modules of one namespace; a namespace
// holding nothing the viewer may read does not exist for them.
func (u *UI) namespace(c *gin.Context) {
	u.narrowed(c, c.Param("ns"), "")
}

// moduleSystems is /modules/:ns/:name, the systems a module is published
// for.
func (u *UI) moduleSystems(c *gin.Context) {
	u.narrowed(c, c.Param("ns"), c.Param("name"))
}

func (u *UI) narrowed(c *gin.Context, ns, name string) {
	ctx, p := c.Request.Context(), middleware.Principal(c)
	_, page, _, _ := listArgs(c)
	res, found, err := u.modules.Narrowed(ctx, p, modules.SearchQuery{WithTotal: true,
		Offset: (page - 1) * pageSize, Limit: pageSize}, ns, name)
	if err != nil {
		writeError(c, err)
		return
	}
	if !found {
		NotFound(c)
		return
	}
	// The list pages by path; searching from it searches the namespace.
	heading, path := "Modules in "+ns, views.NamespaceURL(ns)
	if name != "" {
		heading, path = ns+"/"+name, path+"/"+url.PathEscape(name)
	}
	s := views.SearchPage{Heading: heading, Action: "/modules/search", Namespaces: []string{ns}, Page: res, Total: int64(res.Total), PageNo: page}
	if page > 1 {
		s.Prev = listURL(path, "", nil, nil, page-1)
	}
	if res.More {
		s.Next = listURL(path, "", nil, nil, page+1)
	}
	u.renderList(c, s)
}
