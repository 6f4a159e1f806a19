package ui

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
	"github.com/cairn-registry/cairn/views"
)

// maxBuilderValue bounds one value the usage builder echoes.
const maxBuilderValue = 4096

// builder is the usage builder of m for the values in the request's
// query (var.<name>): Terrareg's variable template (modules.VariableTemplate)
// as a form, and the module block those values make.
func builder(c *gin.Context, action, address, name, version string, m *metadata.Module) views.Builder {
	b := views.Builder{Action: action}
	sensitive := map[string]bool{}
	for _, in := range m.Root.Inputs {
		sensitive[in.Name] = in.Sensitive
	}
	for _, tv := range modules.VariableTemplate(m) {
		f := views.BuilderField{TemplateVariable: tv}
		f.Value = strings.TrimSpace(c.Query("var." + tv.Name))
		if len(f.Value) > maxBuilderValue {
			f.Value = f.Value[:maxBuilderValue]
		}
		if len(tv.DefaultValue) > 0 && string(tv.DefaultValue) != "null" && !sensitive[tv.Name] {
			f.Default = views.JSONAsHCL(tv.DefaultValue)
		}
		b.Fields = append(b.Fields, f)
	}
	b.HCL = builderHCL(address, name, version, b.Fields)
	return b
}

// builderHCL writes the module block, laid out as terraform fmt would:
// the values entered, then a comment naming required inputs still empty.
func builderHCL(address, name, version string, fields []views.BuilderField) string {
	type attr struct{ name, value string }
	var set []attr
	var missing []string
	for _, f := range fields {
		if f.Value == "" {
			if f.Required {
				missing = append(missing, f.Name)
			}
			continue
		}
		set = append(set, attr{f.Name, builderValue(f)})
	}
	var b strings.Builder
	b.WriteString("module " + views.HCLString(blockLabel(name)) + " {\n")
	b.WriteString("  source  = " + views.HCLString(address) + "\n")
	b.WriteString("  version = " + views.HCLString(version) + "\n")
	if len(set) > 0 {
		b.WriteString("\n")
		width := 0
		for _, a := range set {
			width = max(width, len(a.name))
		}
		for _, a := range set {
			b.WriteString("  " + a.name + strings.Repeat(" ", width-len(a.name)) + " = " + indentValue(a.value) + "\n")
		}
	}
	if len(missing) > 0 {
		b.WriteString("\n  # Required inputs still to set: " + strings.Join(missing, ", ") + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// indentValue indents the continuation lines of a multi-line value to the
// attribute's level.
func indentValue(v string) string { return strings.ReplaceAll(v, "\n", "\n  ") }

// builderValue is one entered value as HCL: quoted text, a number, a
// boolean, a list of the comma-separated items, or — for unquoted text
// (maps, objects) — the expression as typed.
func builderValue(f views.BuilderField) string {
	v := f.Value
	switch f.Type {
	case "boolean":
		if v == "true" || v == "false" {
			return v
		}
		return views.HCLString(v)
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return v
		}
		return views.HCLString(v)
	case "list":
		var items []string
		for _, it := range strings.Split(v, ",") {
			if it = strings.TrimSpace(it); it == "" {
				continue
			}
			if f.QuoteValue {
				it = views.HCLString(it)
			}
			items = append(items, it)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	if f.QuoteValue {
		return views.HCLString(v)
	}
	return v
}

// blockLabel is a module block label from the module's name.
func blockLabel(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) {
		s = "module_" + s
	}
	return s
}
