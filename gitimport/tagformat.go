package gitimport

import (
	"regexp"
	"strings"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/modules/version"
)

// tagFormat is Terrareg's git_tag_format: a tag with placeholders {version}
// (a whole semantic version) or {major}, {minor} and {patch} (numbers; a
// missing one is 0). Unset is "{version}".
type tagFormat struct {
	format string
	re     *regexp.Regexp
}

var placeholder = regexp.MustCompile(`\{(version|major|minor|patch)\}`)

func parseTagFormat(f *string) (tagFormat, error) {
	format := "{version}"
	if f != nil && *f != "" {
		format = *f
	}
	if !placeholder.MatchString(format) {
		return tagFormat{}, errs.Field(errs.Invalid, "git_tag_format",
			"The git tag format must contain one of {version}, {major}, {minor} or {patch}")
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatchIndex(format, -1) {
		b.WriteString(regexp.QuoteMeta(format[last:m[0]]))
		name := format[m[2]:m[3]]
		if seen[name] {
			return tagFormat{}, errs.Field(errs.Invalid, "git_tag_format", "The git tag format repeats {%s}", name)
		}
		seen[name] = true
		if name == "version" {
			b.WriteString(`(?P<version>[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)`)
		} else {
			b.WriteString(`(?P<` + name + `>[0-9]+)`)
		}
		last = m[1]
	}
	b.WriteString(regexp.QuoteMeta(format[last:]))
	b.WriteString("$")
	return tagFormat{format: format, re: regexp.MustCompile(b.String())}, nil
}

// hasVersion reports whether the format holds a whole version.
func (t tagFormat) hasVersion() bool { return strings.Contains(t.format, "{version}") }

// tag is the tag of version v.
func (t tagFormat) tag(v string) (string, error) {
	pv, err := version.Parse(v)
	if err != nil {
		return "", errs.Field(errs.Invalid, "version", "%s", err.Error())
	}
	if !t.hasVersion() {
		parts := strings.SplitN(strings.SplitN(pv.String(), "-", 2)[0], ".", 3)
		if len(parts) != 3 || strings.ContainsAny(pv.String(), "-+") {
			return "", errs.Field(errs.Invalid, "version",
				"Version %s cannot be expressed in the git tag format %s", v, t.format)
		}
		r := strings.NewReplacer("{major}", parts[0], "{minor}", parts[1], "{patch}", parts[2])
		tag := r.Replace(t.format)
		// Every placeholder the format lacks must be 0 (Terrareg's rule).
		if got, ok := t.version(tag); !ok || got != pv.String() {
			return "", errs.Field(errs.Invalid, "version",
				"Version %s cannot be expressed in the git tag format %s", v, t.format)
		}
		return tag, nil
	}
	return strings.ReplaceAll(t.format, "{version}", v), nil
}

// version is the version tag names, when tag matches the format.
func (t tagFormat) version(tag string) (string, bool) {
	m := t.re.FindStringSubmatch(tag)
	if m == nil {
		return "", false
	}
	get := func(name string) string {
		if i := t.re.SubexpIndex(name); i > 0 {
			return m[i]
		}
		return ""
	}
	v := get("version")
	if v == "" {
		num := func(name string) string {
			s := strings.TrimLeft(get(name), "0")
			if s == "" {
				return "0"
			}
			return s
		}
		v = num("major") + "." + num("minor") + "." + num("patch")
	}
	pv, err := version.Parse(v)
	if err != nil {
		return "", false
	}
	return pv.String(), true
}

// renderURL fills Terrareg's repository URL placeholders.
func renderURL(template, namespace, name, system string) string {
	return strings.NewReplacer("{namespace}", namespace, "{module}", name, "{provider}", system).Replace(template)
}
