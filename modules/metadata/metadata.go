// Package metadata describes what one uploaded module version contains: its root module,
// submodules, examples, inputs, outputs, providers, resources, READMEs, and the root's CHANGELOG
// and LICENSE.
//
// The description is extracted once, when the version is uploaded, stored as JSON beside the
// version and served from there; nothing re-reads the archive to answer a details request. The
// JSON shape of Module is therefore a storage format: add fields freely, rename none.
package metadata

import "encoding/json"

// Module is everything Cairn knows about one module version's files.
type Module struct {
	Root Part `json:"root"`
	// Submodules are the directories modules/<name>, sorted by path.
	Submodules []Part `json:"submodules"`
	// Examples are the directories examples/<name>, sorted by path.
	Examples []Example `json:"examples"`
	// Terrareg holds the Terrareg settings file found at the root, nil when there is none.
	Terrareg *TerraregConfig `json:"terrareg"`
	// Truncated is true when a limit stopped some files from being read.
	Truncated bool `json:"truncated"`
	// ReadmeHTMLVersion is the markdown.Version the ReadmeHTML fields were rendered with, 0 when
	// they were not (Extract leaves them empty).
	ReadmeHTMLVersion int `json:"readme_html_version,omitempty"`
}

// Part is one Terraform module inside the archive: the root, a submodule or an example.
//
// Every slice is sorted (see each field) and never nil, so the stored JSON is stable and
// holds [] rather than null. File paths are relative to the archive root.
type Part struct {
	// Path is "" for the root, otherwise "modules/<name>" or "examples/<name>".
	Path string `json:"path"`
	// Readme is the raw Markdown of the directory's README, "" when there is none.
	Readme string `json:"readme"`
	// ReadmeHTML is Readme rendered and sanitised (modules/markdown), filled by the modules
	// package at upload, not by Extract; see Module.ReadmeHTMLVersion.
	ReadmeHTML string `json:"readme_html,omitempty"`
	// Changelog is the raw Markdown of the root's CHANGELOG (root only), "" when there is none;
	// ChangelogFile is its name in the archive ("CHANGELOG.md"). ChangelogHTML is Changelog
	// rendered and sanitised like ReadmeHTML, filled by the modules package at upload.
	Changelog     string `json:"changelog,omitempty"`
	ChangelogFile string `json:"changelog_file,omitempty"`
	ChangelogHTML string `json:"changelog_html,omitempty"`
	// License is the plain text of the root's LICENSE (root only), "" when there is none;
	// LicenseFile is its name in the archive ("LICENSE", "LICENSE.md", "LICENSE.txt").
	License     string `json:"license,omitempty"`
	LicenseFile string `json:"license_file,omitempty"`
	// Empty is true when the directory holds no Terraform (.tf or .tf.json) files.
	Empty bool `json:"empty"`
	// Inputs are the declared variables, sorted by name.
	Inputs []Input `json:"inputs"`
	// Outputs are sorted by name.
	Outputs []Output `json:"outputs"`
	// RequiredVersion lists the terraform.required_version constraints in file order.
	RequiredVersion []string `json:"required_version"`
	// ProviderDependencies are sorted by local name.
	ProviderDependencies []ProviderDependency `json:"provider_dependencies"`
	// Resources are sorted managed before data, then by type and name.
	Resources []Resource `json:"resources"`
	// ModuleCalls are sorted by name.
	ModuleCalls []ModuleCall `json:"module_calls"`
	// Diagnostics are parse problems and skipped files, sorted by file and line.
	Diagnostics []Diagnostic `json:"diagnostics"`
}

// Input is a variable declared by a module.
type Input struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	// Default is the default value as JSON, the literal null when there is none.
	Default   json.RawMessage `json:"default"`
	Required  bool            `json:"required"`
	Sensitive bool            `json:"sensitive"`
}

// Output is a value a module exports.
type Output struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Sensitive   bool   `json:"sensitive"`
}

// ProviderDependency is one entry of required_providers, or a provider that a resource or
// provider block implies.
type ProviderDependency struct {
	// Name is the local name the module uses ("aws").
	Name string `json:"name"`
	// Namespace is the provider's namespace ("hashicorp"), "" when the source is unparseable.
	Namespace string `json:"namespace"`
	// Source is the normalised source address: lower case, registry.terraform.io/ stripped.
	Source string `json:"source"`
	// Version is the version constraints joined with ", ".
	Version string `json:"version"`
}

// Resource is a resource or data block.
type Resource struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Mode is "managed" or "data".
	Mode string `json:"mode"`
	// Provider is the local name of the provider configuration the resource uses.
	Provider string `json:"provider"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// ModuleCall is a module block.
type ModuleCall struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Version string `json:"version"`
}

// Diagnostic is a problem found while reading the module; it never fails an upload.
type Diagnostic struct {
	// Severity is "error" or "warning".
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	// File and Line locate the problem; "" and 0 when it has no position.
	File string `json:"file"`
	Line int    `json:"line"`
}

// Example is a directory examples/<name>: a Terraform configuration plus the files shown to users.
type Example struct {
	Part
	// Files are the example's text files, sorted by path.
	Files []ExampleFile `json:"files"`
}

// ExampleFile is one file of an example, shown verbatim.
type ExampleFile struct {
	// Path is relative to the example directory ("main.tf", "scripts/setup.sh").
	Path    string `json:"path"`
	Content string `json:"content"`
}

// TerraregConfig is the subset of Terrareg's terrareg.json that Cairn honours; other keys are
// ignored so that stored metadata never carries arbitrary user JSON.
type TerraregConfig struct {
	Owner       string `json:"owner,omitempty"`
	Description string `json:"description,omitempty"`
	// VariableTemplate is Terrareg's usage-builder template, a JSON array kept as written
	// (compacted).
	VariableTemplate json.RawMessage `json:"variable_template,omitempty"`
	RepoCloneURL     string          `json:"repo_clone_url,omitempty"`
	RepoBrowseURL    string          `json:"repo_browse_url,omitempty"`
	RepoBaseURL      string          `json:"repo_base_url,omitempty"`
	IssuesURL        string          `json:"issues_url,omitempty"`
}

// Limits bound how much of an archive Extract reads. A zero or negative field means the
// DefaultLimits value for that field.
type Limits struct {
	// MaxFiles is the number of files read.
	MaxFiles int
	// MaxFileSize is the size above which a file is skipped.
	MaxFileSize int64
	// MaxTotalSize is the number of bytes read across all files.
	MaxTotalSize int64
}

// DefaultLimits are generous for real modules and keep a hostile archive cheap to inspect.
func DefaultLimits() Limits {
	return Limits{
		MaxFiles:     2000,
		MaxFileSize:  1 << 20,
		MaxTotalSize: 20 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	return l
}
