package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// inspect fills p from the Terraform files of dir (already read, keyed by archive path) and
// returns the diagnostics found on the way.
func inspect(p *Part, dir string, files map[string][]byte) (diags []Diagnostic) {
	fillEmpty(p)
	if len(files) == 0 {
		return nil
	}
	defer func() {
		// The parsers see hostile input; a crash in one of them must cost one part its details,
		// not the upload.
		if r := recover(); r != nil {
			fillEmpty(p)
			diags = append(diags, Diagnostic{
				Severity: "error",
				Summary:  "Configuration could not be inspected",
				Detail:   clean(fmt.Sprint(r)),
			})
		}
	}()

	safe := make(memFS, len(files))
	for name, b := range files {
		if nestingExceeds(b, maxNesting) {
			diags = append(diags, Diagnostic{
				Severity: "error",
				Summary:  "Configuration nested too deeply",
				Detail:   fmt.Sprintf("Brackets, strings or templates nest more than %d levels deep; the file was not parsed.", maxNesting),
				File:     name,
			})
			continue
		}
		safe[name] = b
	}
	if len(safe) == 0 {
		return diags
	}

	mod, _ := tfconfig.LoadModuleFromFilesystem(safe, dir)
	if mod == nil {
		return diags
	}

	// tfconfig's maps are read in key order and sorted stably, so that names that clean makes
	// equal ("a" and "a\x00") still come out in the same order every time.
	for _, name := range slices.Sorted(maps.Keys(mod.Variables)) {
		p.Inputs = append(p.Inputs, input(mod.Variables[name]))
	}
	sort.SliceStable(p.Inputs, func(i, j int) bool { return p.Inputs[i].Name < p.Inputs[j].Name })

	for _, name := range slices.Sorted(maps.Keys(mod.Outputs)) {
		o := mod.Outputs[name]
		p.Outputs = append(p.Outputs, Output{
			Name:        clean(o.Name),
			Description: clean(o.Description),
			Sensitive:   o.Sensitive,
		})
	}
	sort.SliceStable(p.Outputs, func(i, j int) bool { return p.Outputs[i].Name < p.Outputs[j].Name })

	for _, c := range mod.RequiredCore {
		p.RequiredVersion = append(p.RequiredVersion, clean(c))
	}

	for _, local := range slices.Sorted(maps.Keys(mod.RequiredProviders)) {
		p.ProviderDependencies = append(p.ProviderDependencies, providerDependency(local, mod.RequiredProviders[local]))
	}
	sort.SliceStable(p.ProviderDependencies, func(i, j int) bool {
		return p.ProviderDependencies[i].Name < p.ProviderDependencies[j].Name
	})

	for _, set := range []map[string]*tfconfig.Resource{mod.ManagedResources, mod.DataResources} {
		for _, key := range slices.Sorted(maps.Keys(set)) {
			r := set[key]
			p.Resources = append(p.Resources, Resource{
				Name:     clean(r.Name),
				Type:     clean(r.Type),
				Mode:     r.Mode.String(),
				Provider: clean(r.Provider.Name),
				File:     clean(slashPath(r.Pos.Filename)),
				Line:     r.Pos.Line,
			})
		}
	}
	sort.SliceStable(p.Resources, func(i, j int) bool {
		a, b := p.Resources[i], p.Resources[j]
		if a.Mode != b.Mode {
			return a.Mode == "managed"
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Name < b.Name
	})

	for _, name := range slices.Sorted(maps.Keys(mod.ModuleCalls)) {
		c := mod.ModuleCalls[name]
		p.ModuleCalls = append(p.ModuleCalls, ModuleCall{
			Name:    clean(c.Name),
			Source:  clean(c.Source),
			Version: clean(c.Version),
		})
	}
	sort.SliceStable(p.ModuleCalls, func(i, j int) bool { return p.ModuleCalls[i].Name < p.ModuleCalls[j].Name })

	for _, d := range mod.Diagnostics {
		out := Diagnostic{
			Severity: "error",
			Summary:  clean(d.Summary),
			Detail:   clean(d.Detail),
		}
		if d.Severity == tfconfig.DiagWarning {
			out.Severity = "warning"
		}
		if d.Pos != nil {
			out.File = clean(slashPath(d.Pos.Filename))
			out.Line = d.Pos.Line
		}
		diags = append(diags, out)
	}
	return diags
}

func input(v *tfconfig.Variable) Input {
	in := Input{
		Name:        clean(v.Name),
		Type:        clean(v.Type),
		Description: clean(v.Description),
		Default:     json.RawMessage("null"),
		Required:    v.Required,
		Sensitive:   v.Sensitive,
	}
	if !v.Required && v.Default != nil {
		// json.Marshal (HTML-escaping included) gives the same bytes encoding/json produces when
		// the stored Module is encoded again, so the value round-trips exactly.
		if b, err := json.Marshal(cleanValue(v.Default)); err == nil {
			in.Default = b
		}
	}
	return in
}

// cleanValue applies clean to every string inside a decoded JSON value.
func cleanValue(v any) any {
	switch t := v.(type) {
	case string:
		return clean(t)
	case []any:
		for i := range t {
			t[i] = cleanValue(t[i])
		}
		return t
	case map[string]any:
		// Cleaning can make two keys equal ("a\x00" and "a"). One value is kept by a fixed rule,
		// so that the stored default does not change with map order: that of the key that
		// needed no cleaning, else that of the lowest key.
		out := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			ck := clean(k)
			if _, taken := out[ck]; taken && k != ck {
				continue
			}
			out[ck] = cleanValue(t[k])
		}
		return out
	default:
		return v
	}
}

var (
	providerHost = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?$`)
	providerName = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$`)
)

const (
	defaultProviderHost = "registry.terraform.io"
	builtinTerraform    = "terraform.io/builtin/terraform"
)

// providerDependency normalises a requirement the way Terraform resolves it: a bare type means
// hashicorp/<type>, the public registry's host is implied, addresses are case-insensitive. A
// provider only implied by a resource or provider block resolves like a bare type, except the
// built-in "terraform" provider.
func providerDependency(local string, req *tfconfig.ProviderRequirement) ProviderDependency {
	local = clean(local)
	dep := ProviderDependency{Name: local}
	var source string
	if req != nil {
		source = strings.ToLower(strings.TrimSpace(clean(req.Source)))
		dep.Version = clean(strings.Join(req.VersionConstraints, ", "))
	}
	if source == "" {
		if local == "terraform" {
			source = builtinTerraform
		} else {
			source = strings.ToLower(local)
		}
	}
	dep.Source = source

	parts := strings.Split(source, "/")
	if len(parts) == 3 {
		if !providerHost.MatchString(parts[0]) {
			return dep
		}
		if parts[0] == defaultProviderHost {
			parts = parts[1:]
		}
	}
	if len(parts) == 1 {
		parts = []string{"hashicorp", parts[0]}
	}
	n := len(parts)
	if n < 2 || n > 3 || !providerName.MatchString(parts[n-2]) || !providerName.MatchString(parts[n-1]) {
		// Something Terraform would reject, or an expression it evaluates later; show as written.
		return dep
	}
	dep.Namespace = parts[n-2]
	dep.Source = strings.Join(parts, "/")
	return dep
}

// memFS serves already-read files to terraform-config-inspect, which lists and reads a
// directory through its own FS interface. Keys are archive paths.
type memFS map[string][]byte

func (m memFS) Open(name string) (tfconfig.File, error) {
	b, ok := m[filepath.ToSlash(name)]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &memFile{Reader: bytes.NewReader(b), info: memInfo{name: filepath.Base(name), size: int64(len(b))}}, nil
}

func (m memFS) ReadFile(name string) ([]byte, error) {
	b, ok := m[filepath.ToSlash(name)]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return b, nil
}

func (m memFS) ReadDir(dirname string) ([]os.FileInfo, error) {
	dir := filepath.ToSlash(filepath.Clean(dirname))
	var infos []os.FileInfo
	for name, b := range m {
		if pathDir(name) == dir {
			infos = append(infos, memInfo{name: name[strings.LastIndexByte(name, '/')+1:], size: int64(len(b))})
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name() < infos[j].Name() })
	return infos, nil
}

func pathDir(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "."
	}
	return name[:i]
}

type memFile struct {
	*bytes.Reader
	info memInfo
}

func (f *memFile) Stat() (os.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
