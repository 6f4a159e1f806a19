package metadata

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

const (
	// maxDiagnosticsPerPart keeps the stored JSON bounded when a file is garbage from end to end.
	maxDiagnosticsPerPart = 100
	// maxSkipDiagnostics bounds "file skipped" warnings across the module; Truncated says the rest.
	maxSkipDiagnostics = 20
)

// exampleExtensions are the files shown on an example's page.
var exampleExtensions = []string{".tf", ".tfvars", ".tf.json", ".md", ".sh", ".json", ".yaml", ".yml", ".txt"}

// readmeNames are matched case-insensitively, most preferred first.
var readmeNames = []string{"readme.md", "readme.markdown", "readme"}

// changelogNames and licenseNames are the root's additional files, matched case-insensitively,
// most preferred first.
var (
	changelogNames = []string{"changelog.md", "changelog"}
	licenseNames   = []string{"license", "license.md", "license.txt"}
)

// terraregNames are looked for at the archive root, most preferred first.
var terraregNames = []string{"terrareg.json", ".terrareg.json"}

// Extract reads one module archive's files and describes them.
//
// fsys holds the unpacked archive with the module at its root. Extract only reads: the root,
// every modules/<name> and examples/<name> directory that holds Terraform files or a README,
// those directories' READMEs, example files, terrareg.json, and the root's CHANGELOG and LICENSE. Invalid configuration never
// fails: problems become Diagnostics on the Part concerned and whatever parsed is kept. Files
// beyond lim are skipped and Module.Truncated is set. The error is reserved for a filesystem
// that cannot be listed.
func Extract(fsys fs.FS, lim Limits) (*Module, error) {
	x := &extractor{
		fsys:  fsys,
		lim:   lim.withDefaults(),
		cache: make(map[string][]byte),
	}
	return x.run()
}

// extractor carries one Extract call's state: the budget spent so far and the files read.
type extractor struct {
	fsys fs.FS
	lim  Limits

	files     int
	bytes     int64
	truncated bool
	skipDiags int
	cache     map[string][]byte
}

// plan is what one Part needs read, gathered before anything is read so that the root is
// served first when the budget runs short.
type plan struct {
	dir       string   // "." for the root
	tf        []string // Terraform files, slash paths from the archive root
	readme    string   // "" when there is none
	extra     []string // example files (examples only)
	terrareg  string   // root only
	changelog string   // root only, "" when there is none
	license   string   // root only, "" when there is none
	diags     []Diagnostic
}

func (x *extractor) run() (*Module, error) {
	root, err := x.planDir(".", false)
	if err != nil {
		return nil, err
	}
	if root == nil {
		root = &plan{dir: "."}
	}
	for _, name := range terraregNames {
		if x.isRegular(name) {
			root.terrareg = name
			break
		}
	}
	subs, err := x.planChildren("modules", false)
	if err != nil {
		return nil, err
	}
	examples, err := x.planChildren("examples", true)
	if err != nil {
		return nil, err
	}

	// Spend the budget root first, then submodules, then examples: a huge example must not
	// starve the part users look at first.
	x.prefetch(root)
	for _, p := range subs {
		x.prefetch(p)
	}
	for _, p := range examples {
		x.prefetch(p)
	}

	m := &Module{
		Root:       x.part(root),
		Submodules: []Part{},
		Examples:   []Example{},
	}
	if root.terrareg != "" {
		if b, ok := x.cache[root.terrareg]; ok {
			cfg, diags := parseTerrareg(root.terrareg, b)
			m.Terrareg = cfg
			m.Root.Diagnostics = sortDiagnostics(append(m.Root.Diagnostics, diags...))
		}
	}
	for _, p := range subs {
		if !x.anyRead(p) {
			continue
		}
		m.Submodules = append(m.Submodules, x.part(p))
	}
	for _, p := range examples {
		if !x.anyRead(p) {
			continue
		}
		ex := Example{Part: x.part(p), Files: []ExampleFile{}}
		for _, name := range p.extra {
			b, ok := x.cache[name]
			if !ok {
				continue
			}
			content, isText := text(b)
			if !isText {
				continue
			}
			ex.Files = append(ex.Files, ExampleFile{Path: strings.TrimPrefix(name, p.dir+"/"), Content: content})
		}
		m.Examples = append(m.Examples, ex)
	}
	m.Truncated = x.truncated
	return m, nil
}

// planChildren plans every directory <parent>/<name>; a missing parent is not an error.
func (x *extractor) planChildren(parent string, example bool) ([]*plan, error) {
	entries, err := fs.ReadDir(x.fsys, parent)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || !x.isDir(parent) {
			return nil, nil
		}
		return nil, fmt.Errorf("metadata: list %s: %w", parent, err)
	}
	var plans []*plan
	for _, e := range entries {
		if !e.IsDir() || hiddenName(e.Name()) {
			continue
		}
		p, err := x.planDir(parent+"/"+e.Name(), example)
		if err != nil {
			return nil, err
		}
		if p != nil {
			plans = append(plans, p)
		}
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].dir < plans[j].dir })
	return plans, nil
}

// planDir lists what dir holds; nil means the directory is not a module (no Terraform, no README).
func (x *extractor) planDir(dir string, example bool) (*plan, error) {
	entries, err := fs.ReadDir(x.fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("metadata: list %s: %w", dir, err)
	}
	p := &plan{dir: dir}
	readmeRank, changelogRank, licenseRank := len(readmeNames), len(changelogNames), len(licenseNames)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		full := joinPath(dir, name)
		if isTerraformFile(name) {
			p.tf = append(p.tf, full)
		}
		lower := strings.ToLower(name)
		for rank, candidate := range readmeNames {
			if lower == candidate && rank < readmeRank {
				p.readme, readmeRank = full, rank
			}
		}
		if dir != "." {
			continue
		}
		for rank, candidate := range changelogNames {
			if lower == candidate && rank < changelogRank {
				p.changelog, changelogRank = full, rank
			}
		}
		for rank, candidate := range licenseNames {
			if lower == candidate && rank < licenseRank {
				p.license, licenseRank = full, rank
			}
		}
	}
	if example {
		err := fs.WalkDir(x.fsys, dir, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if name != dir && hiddenName(d.Name()) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && isExampleFile(d.Name()) {
				p.extra = append(p.extra, name)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("metadata: walk %s: %w", dir, err)
		}
	}
	if dir != "." && len(p.tf) == 0 && p.readme == "" {
		return nil, nil
	}
	return p, nil
}

// prefetch reads p's files within the budget, most important first.
func (x *extractor) prefetch(p *plan) {
	if p.readme != "" {
		x.read(p, p.readme)
	}
	if p.terrareg != "" {
		x.read(p, p.terrareg)
	}
	for _, name := range p.tf {
		x.read(p, name)
	}
	for _, name := range []string{p.changelog, p.license} {
		if name != "" {
			x.read(p, name)
		}
	}
	for _, name := range p.extra {
		x.read(p, name)
	}
}

// anyRead reports whether at least one of p's files fit the budget; a part none of whose files
// could be read is left out rather than described as if it were empty.
func (x *extractor) anyRead(p *plan) bool {
	if _, ok := x.cache[p.readme]; ok && p.readme != "" {
		return true
	}
	for _, name := range p.tf {
		if _, ok := x.cache[name]; ok {
			return true
		}
	}
	return false
}

// read loads name into the cache unless a limit forbids it, in which case the file is skipped
// with a warning on p.
func (x *extractor) read(p *plan, name string) {
	if _, ok := x.cache[name]; ok {
		return
	}
	skip := func(detail string) {
		x.truncated = true
		if x.skipDiags < maxSkipDiagnostics {
			x.skipDiags++
			p.diags = append(p.diags, Diagnostic{
				Severity: "warning",
				Summary:  "File skipped",
				Detail:   detail,
				File:     name,
			})
		}
	}
	if x.files >= x.lim.MaxFiles {
		skip(fmt.Sprintf("More than %d files would be read.", x.lim.MaxFiles))
		return
	}
	f, err := x.fsys.Open(name)
	if err != nil {
		p.diags = append(p.diags, Diagnostic{Severity: "warning", Summary: "File unreadable", Detail: clean(err.Error()), File: name})
		return
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Size() > x.lim.MaxFileSize {
		skip(fmt.Sprintf("The file is larger than %d bytes.", x.lim.MaxFileSize))
		return
	}
	b, err := io.ReadAll(io.LimitReader(f, x.lim.MaxFileSize+1))
	if err != nil {
		p.diags = append(p.diags, Diagnostic{Severity: "warning", Summary: "File unreadable", Detail: clean(err.Error()), File: name})
		return
	}
	if int64(len(b)) > x.lim.MaxFileSize {
		skip(fmt.Sprintf("The file is larger than %d bytes.", x.lim.MaxFileSize))
		return
	}
	if x.bytes+int64(len(b)) > x.lim.MaxTotalSize {
		skip(fmt.Sprintf("Reading it would exceed %d bytes in total.", x.lim.MaxTotalSize))
		return
	}
	x.files++
	x.bytes += int64(len(b))
	x.cache[name] = b
}

// part describes one planned directory from the files that were read.
func (x *extractor) part(p *plan) Part {
	out := Part{
		Path:  partPath(p.dir),
		Empty: len(p.tf) == 0,
	}
	if b, ok := x.cache[p.readme]; ok && p.readme != "" {
		out.Readme = readmeText(b)
	}
	if b, ok := x.cache[p.changelog]; ok && p.changelog != "" && strings.TrimSpace(string(b)) != "" {
		out.Changelog, out.ChangelogFile = readmeText(b), p.changelog
	}
	if b, ok := x.cache[p.license]; ok && p.license != "" && strings.TrimSpace(string(b)) != "" {
		out.License, out.LicenseFile = readmeText(b), p.license
	}
	files := make(map[string][]byte, len(p.tf))
	for _, name := range p.tf {
		if b, ok := x.cache[name]; ok {
			files[name] = b
		}
	}
	diags := append([]Diagnostic(nil), p.diags...)
	if out.Empty {
		fillEmpty(&out)
	} else {
		diags = append(diags, inspect(&out, p.dir, files)...)
	}
	out.Diagnostics = capDiagnostics(sortDiagnostics(diags))
	return out
}

func fillEmpty(p *Part) {
	p.Inputs = []Input{}
	p.Outputs = []Output{}
	p.RequiredVersion = []string{}
	p.ProviderDependencies = []ProviderDependency{}
	p.Resources = []Resource{}
	p.ModuleCalls = []ModuleCall{}
}

func (x *extractor) isRegular(name string) bool {
	info, err := fs.Stat(x.fsys, name)
	return err == nil && info.Mode().IsRegular()
}

func (x *extractor) isDir(name string) bool {
	info, err := fs.Stat(x.fsys, name)
	return err == nil && info.IsDir()
}

func partPath(dir string) string {
	if dir == "." {
		return ""
	}
	return dir
}

func joinPath(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// hiddenName reports names Terraform and the registry ignore: dotfiles (.terraform, .git) and
// editor leftovers.
func hiddenName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#"))
}

// isTerraformFile follows terraform-config-inspect's rules for which files make up a module.
func isTerraformFile(name string) bool {
	if hiddenName(name) {
		return false
	}
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

func isExampleFile(name string) bool {
	lower := strings.ToLower(name)
	for _, ext := range exampleExtensions {
		if strings.HasSuffix(lower, ext) && len(lower) > len(ext) {
			return true
		}
	}
	return false
}

func sortDiagnostics(d []Diagnostic) []Diagnostic {
	if d == nil {
		return []Diagnostic{}
	}
	sort.SliceStable(d, func(i, j int) bool {
		a, b := d[i], d[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		if a.Summary != b.Summary {
			return a.Summary < b.Summary
		}
		return a.Detail < b.Detail
	})
	return d
}

func capDiagnostics(d []Diagnostic) []Diagnostic {
	if len(d) <= maxDiagnosticsPerPart {
		return d
	}
	omitted := len(d) - maxDiagnosticsPerPart
	d = d[:maxDiagnosticsPerPart:maxDiagnosticsPerPart]
	return append(d, Diagnostic{
		Severity: "warning",
		Summary:  "Further diagnostics omitted",
		Detail:   fmt.Sprintf("%d more diagnostics were found.", omitted),
	})
}

// text converts file contents to a string that survives JSON and PostgreSQL jsonb (which
// rejects \u0000); false means the file looks binary and should not be shown.
func text(b []byte) (string, bool) {
	for _, c := range b {
		if c == 0 {
			return "", false
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), true
}

// readmeText keeps a README even when it carries stray NUL bytes.
func readmeText(b []byte) string {
	return clean(string(b))
}

// clean makes a string from user files safe to store as jsonb: valid UTF-8, no NUL.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// slashPath turns a parser's file name back into an archive path.
func slashPath(name string) string {
	return filepath.ToSlash(name)
}
