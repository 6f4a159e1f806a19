package admin

import (
	"net/url"

	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/views"
)

// withScripts adds the management pages' script to the frame.
func withScripts(c views.Chrome) views.Chrome {
	for _, s := range c.Scripts {
		if s == "admin.js" {
			return c
		}
	}
	c.Scripts = append(append([]string(nil), c.Scripts...), "admin.js")
	return c
}

func groupURL(g projects.Group) string     { return views.GroupURL(g.FullPath) }
func projectURL(p projects.Project) string { return views.ProjectURL(p.FullPath) }
func urlq(s string) string                 { return url.QueryEscape(s) }

func parentOptions(gs []projects.Group) []Option {
	out := []Option{}
	for _, g := range gs {
		out = append(out, Option{g.FullPath, g.FullPath})
	}
	return out
}

func parentChoices(gs []projects.Group) []Option {
	return append([]Option{{"", "None: a top-level group (a namespace)"}}, parentOptions(gs)...)
}

func roleChoices(owners bool) []Option {
	if owners {
		return Roles
	}
	return Roles[:4]
}

var patScopes = []Option{{"api", "everything you can do"}, {"read_api", "read-only API"}, {"read_package_registry", "download modules"}, {"write_package_registry", "publish modules"}}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ugURL(name string) string { return "/admin/user-groups/" + url.PathEscape(name) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
