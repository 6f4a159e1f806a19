package metadata

import (
	"sort"
	"strings"
)

// Providers lists the provider types the root module depends on ("aws", "random"), sorted and
// without repeats, for the registry's "providers" field. The built-in terraform provider is
// left out: nobody installs it.
func (m *Module) Providers() []string {
	seen := make(map[string]bool)
	out := []string{}
	for _, d := range m.Root.ProviderDependencies {
		if d.Source == builtinTerraform {
			continue
		}
		name := d.Name
		if d.Namespace != "" {
			name = d.Source[strings.LastIndexByte(d.Source, '/')+1:]
		}
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// UsageExample is the snippet a module page offers for copying: a module block calling address
// at version, with every required root input set to a placeholder of its type. The block is
// named after the module ("vpc" for "registry.example.com/acme/vpc/aws") and laid out the way
// terraform fmt would. An empty version leaves the version line out.
func (m *Module) UsageExample(address, version string) string {
	var b strings.Builder
	b.WriteString("module " + hclQuote(blockName(address)) + " {\n")
	if version == "" {
		b.WriteString("  source = " + hclQuote(address) + "\n")
	} else {
		b.WriteString("  source  = " + hclQuote(address) + "\n")
		b.WriteString("  version = " + hclQuote(version) + "\n")
	}

	var required []Input
	width := 0
	for _, in := range m.Root.Inputs {
		if in.Required {
			required = append(required, in)
			width = max(width, len(in.Name))
		}
	}
	if len(required) > 0 {
		b.WriteString("\n  # required inputs\n")
		for _, in := range required {
			b.WriteString("  " + in.Name + strings.Repeat(" ", width-len(in.Name)) + " = " + placeholder(in.Type) + "\n")
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// blockName derives a module block label from a registry address: the module name, the
// second-to-last segment of host/namespace/name/provider.
func blockName(address string) string {
	// Strip a "//subdir" part, but not the "//" of a URL scheme ("https://").
	if i := strings.Index(address, "//"); i >= 0 && !strings.HasSuffix(address[:i], ":") {
		address = address[:i]
	}
	segs := strings.Split(strings.Trim(address, "/"), "/")
	name := segs[len(segs)-1]
	if len(segs) >= 2 {
		name = segs[len(segs)-2]
	}
	var b strings.Builder
	for _, r := range name {
		if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	name = b.String()
	switch {
	case name == "":
		return "module"
	case !isIdentStart(name[0]):
		return "module_" + name
	}
	return name
}

// placeholder is a value of the declared type that reads as "fill me in".
func placeholder(typ string) string {
	t := strings.TrimSpace(typ)
	switch {
	case t == "string":
		return `""`
	case t == "number":
		return "0"
	case t == "bool":
		return "false"
	case strings.HasPrefix(t, "list(") || strings.HasPrefix(t, "set(") || strings.HasPrefix(t, "tuple("):
		return "[]"
	case strings.HasPrefix(t, "map(") || strings.HasPrefix(t, "object("):
		return "{}"
	default:
		// any, or no type at all: the caller must pick something.
		return "null"
	}
}
