package archive

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"
)

// member describes one entry of an archive built by a test.
type member struct {
	Name string
	Body string
	Type byte   // a tar type flag (also used to pick the zip mode); 0 means a regular file
	Link string // target of a symbolic or hard link
	Mode int64  // permission bits; 0 means 0644
}

func file(name, body string) member      { return member{Name: name, Body: body} }
func dir(name string) member             { return member{Name: name, Type: tar.TypeDir} }
func symlink(name, to string) member     { return member{Name: name, Type: tar.TypeSymlink, Link: to} }
func hardlink(name, to string) member    { return member{Name: name, Type: tar.TypeLink, Link: to} }
func special(name string, t byte) member { return member{Name: name, Type: t} }

// tarGz builds a .tar.gz holding members.
func tarGz(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		hdr := &tar.Header{Name: m.Name, Typeflag: m.Type, Linkname: m.Link, Mode: m.Mode}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(m.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("writing tar header %q: %v", m.Name, err)
		}
		if _, err := io.WriteString(tw, m.Body); err != nil {
			t.Fatalf("writing tar entry %q: %v", m.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("closing tar: %v", err)
	}
	if err := gz.Close(); err != nil {
		t.Fatalf("closing gzip: %v", err)
	}
	return buf.Bytes()
}

// zipOf builds a .zip holding members; tar type flags pick the zip mode.
func zipOf(t testing.TB, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, m := range members {
		h := &zip.FileHeader{Name: m.Name, Method: zip.Deflate}
		perm := fs.FileMode(m.Mode)
		if perm == 0 {
			perm = 0o644
		}
		body := m.Body
		switch m.Type {
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
			body = m.Link
		case tar.TypeChar:
			h.SetMode(fs.ModeDevice | fs.ModeCharDevice | perm)
		case tar.TypeFifo:
			h.SetMode(fs.ModeNamedPipe | perm)
		default:
			h.SetMode(perm)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatalf("writing zip header %q: %v", m.Name, err)
		}
		if _, err := io.WriteString(w, body); err != nil {
			t.Fatalf("writing zip entry %q: %v", m.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("closing zip: %v", err)
	}
	return buf.Bytes()
}

// collect scans data and returns the visited files and their contents.
func collect(data []byte, lim Limits) (map[string]string, Summary, error) {
	got := map[string]string{}
	_, sum, err := Scan(bytes.NewReader(data), int64(len(data)), lim, func(f File) error {
		b, err := io.ReadAll(io.LimitReader(f.Open(), 1<<20))
		if err != nil {
			return err
		}
		got[f.Path] = string(b)
		return nil
	})
	return got, sum, err
}

var module = []member{
	dir("./"),
	file("./main.tf", `module "x" { source = "./modules/x" }`),
	file("variables.tf", `variable "name" {}`),
	dir("modules/"),
	dir("modules/x/"),
	file("modules/x/main.tf", `resource "null_resource" "x" {}`),
	file("README.md", "# Example\n"),
}

var moduleFiles = map[string]string{
	"main.tf":           `module "x" { source = "./modules/x" }`,
	"variables.tf":      `variable "name" {}`,
	"modules/x/main.tf": `resource "null_resource" "x" {}`,
	"README.md":         "# Example\n",
}

var builders = []struct {
	format Format
	build  func(testing.TB, ...member) []byte
}{
	{TarGz, tarGz},
	{Zip, zipOf},
}

func TestScanValidModule(t *testing.T) {
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			data := b.build(t, module...)
			got, sum, err := collect(data, DefaultLimits())
			if err != nil {
				t.Fatalf("Scan: unexpected error: %v", err)
			}
			if !maps.Equal(got, moduleFiles) {
				t.Errorf("visited files:\n got  %q\n want %q", got, moduleFiles)
			}
			want := Summary{Entries: len(module), Files: 4, UncompressedSize: 0, CompressedSize: int64(len(data))}
			for _, body := range moduleFiles {
				want.UncompressedSize += int64(len(body))
			}
			if sum != want {
				t.Errorf("Summary = %+v, want %+v", sum, want)
			}
		})
	}
}

func TestScanRejects(t *testing.T) {
	small := Limits{MaxEntries: 3, MaxFileSize: 1 << 10, MaxPathLen: 20, MaxDepth: 3}
	tests := []struct {
		name    string
		only    Format // "" means both formats
		members []member
		lim     Limits
		want    string // the exact Reason
	}{
		{
			name:    "dot-dot escape",
			members: []member{file("main.tf", "x"), file("../../etc/passwd", "x")},
			want:    `archive entry "../../etc/passwd" escapes the module root`,
		},
		{
			name:    "escape after descending",
			members: []member{file("a/../../x", "x")},
			want:    `archive entry "a/../../x" escapes the module root`,
		},
		{
			name:    "absolute path",
			members: []member{file("/etc/passwd", "x")},
			want:    `archive entry "/etc/passwd" has an absolute path`,
		},
		{
			name:    "backslash escape",
			only:    Zip,
			members: []member{file(`..\..\evil.tf`, "x")},
			want:    `archive entry "..\\..\\evil.tf" escapes the module root`,
		},
		{
			name:    "windows drive",
			only:    Zip,
			members: []member{file(`C:\evil.tf`, "x")},
			want:    `archive entry "C:\\evil.tf" has an absolute path`,
		},
		{
			name:    "UNC path",
			only:    Zip,
			members: []member{file(`\\server\share\evil.tf`, "x")},
			want:    `archive entry "\\\\server\\share\\evil.tf" has an absolute path`,
		},
		{
			name:    "NUL byte",
			only:    Zip,
			members: []member{file("main.tf\x00.png", "x")},
			want:    `archive entry "main.tf\x00.png" contains a NUL byte`,
		},
		{
			name:    "control character",
			members: []member{file("main\n.tf", "x")},
			want:    `archive entry "main\n.tf" contains a control character`,
		},
		{
			name:    "symlink escaping",
			members: []member{file("main.tf", "x"), symlink("link", "../x")},
			want:    `archive entry "link" is a symbolic link pointing outside the module (../x)`,
		},
		{
			name:    "symlink escaping from a subdirectory",
			members: []member{symlink("a/b/link", "../../../x")},
			want:    `archive entry "a/b/link" is a symbolic link pointing outside the module (../../../x)`,
		},
		{
			name:    "absolute symlink",
			members: []member{symlink("link", "/etc/passwd")},
			want:    `archive entry "link" is a symbolic link pointing outside the module (/etc/passwd)`,
		},
		{
			name:    "hard link",
			only:    TarGz,
			members: []member{file("main.tf", "x"), hardlink("other.tf", "main.tf")},
			want:    `archive entry "other.tf" is a hard link; hard links are not allowed`,
		},
		{
			name:    "character device (tar)",
			only:    TarGz,
			members: []member{special("dev/null", tar.TypeChar)},
			want:    `archive entry "dev/null" is a device or named pipe; only files, directories and symbolic links are allowed`,
		},
		{
			name:    "named pipe (tar)",
			only:    TarGz,
			members: []member{special("fifo", tar.TypeFifo)},
			want:    `archive entry "fifo" is a device or named pipe; only files, directories and symbolic links are allowed`,
		},
		{
			name:    "character device (zip)",
			only:    Zip,
			members: []member{special("dev/null", tar.TypeChar)},
			want:    `archive entry "dev/null" is a device, socket or named pipe; only files, directories and symbolic links are allowed`,
		},
		{
			name:    "named pipe (zip)",
			only:    Zip,
			members: []member{special("fifo", tar.TypeFifo)},
			want:    `archive entry "fifo" is a device, socket or named pipe; only files, directories and symbolic links are allowed`,
		},
		{
			name:    "too many entries",
			members: []member{file("a.tf", ""), file("b.tf", ""), dir("c/"), file("c/d.tf", "")},
			lim:     small,
			want:    `archive has more than 3 entries`,
		},
		{
			name:    "file over MaxFileSize",
			members: []member{file("big.bin", strings.Repeat("x", 1025))},
			lim:     small,
			want:    `archive entry "big.bin" is larger than 1 KiB`,
		},
		{
			name:    "total over MaxTotalSize",
			members: []member{file("a.bin", strings.Repeat("x", 1000)), file("b.bin", strings.Repeat("x", 1000))},
			lim:     Limits{MaxTotalSize: 1536},
			want:    `archive expands to more than 1536 bytes`,
		},
		{
			name:    "duplicate path",
			members: []member{file("main.tf", "a"), file("main.tf", "b")},
			want:    `archive contains "main.tf" more than once`,
		},
		{
			name:    "duplicate path after cleaning",
			members: []member{file("main.tf", "a"), file("./x/../main.tf", "b")},
			want:    `archive contains "main.tf" more than once`,
		},
		{
			name:    "file and directory of the same name",
			members: []member{file("a", "x"), file("a/b.tf", "x")},
			want:    `archive entry "a/b.tf" is inside "a", which is a file`,
		},
		{
			name:    "file and directory, directory first",
			members: []member{file("a/b.tf", "x"), file("a-b.tf", "x"), file("a", "x")},
			want:    `archive entry "a/b.tf" is inside "a", which is a file`,
		},
		{
			name:    "file written through a symlink",
			members: []member{symlink("lib", "modules"), file("lib/main.tf", "x")},
			want:    `archive entry "lib/main.tf" is inside "lib", which is a symbolic link`,
		},
		{
			name:    "too deep",
			members: []member{file("a/b/c/d.tf", "x")},
			lim:     small,
			want:    `archive entry "a/b/c/d.tf" is nested more than 3 levels deep`,
		},
		{
			name:    "path too long",
			members: []member{file("a-very-long-file-name.tf", "x")},
			lim:     small,
			want:    `archive entry "a-very-long-file-name.tf" has a path longer than 20 characters`,
		},
		{
			name:    "empty file name",
			members: []member{file(".", "")},
			want:    `archive entry "." has an empty name`,
		},
	}
	for _, tt := range tests {
		for _, b := range builders {
			if tt.only != "" && tt.only != b.format {
				continue
			}
			t.Run(tt.name+"/"+string(b.format), func(t *testing.T) {
				data := b.build(t, tt.members...)
				_, _, err := collect(data, tt.lim)
				assertInvalid(t, err, tt.want)
			})
		}
	}
}

// assertInvalid checks that err is a validation failure with Reason want.
func assertInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %q does not match ErrInvalid", err)
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %q (%T) is not an *Error", err, err)
	}
	if want != "" && ae.Reason != want {
		t.Errorf("Reason:\n got  %s\n want %s", ae.Reason, want)
	}
}

func TestScanAccepts(t *testing.T) {
	tests := []struct {
		name    string
		only    Format
		members []member
		want    map[string]string
	}{
		{
			name:    "symlink inside is allowed but not visited",
			members: []member{file("main.tf", "m"), dir("modules/x/"), file("modules/x/a.tf", "a"), symlink("modules/x/link", "../../main.tf")},
			want:    map[string]string{"main.tf": "m", "modules/x/a.tf": "a"},
		},
		{
			name:    "dot-dot that stays inside",
			members: []member{file("a/../b.tf", "b")},
			want:    map[string]string{"b.tf": "b"},
		},
		{
			name:    "single top-level directory is kept",
			members: []member{dir("mod/"), file("mod/main.tf", "m")},
			want:    map[string]string{"mod/main.tf": "m"},
		},
		{
			name:    "repeated directory",
			members: []member{dir("a/"), dir("a"), file("a/x.tf", "x")},
			want:    map[string]string{"a/x.tf": "x"},
		},
		{
			name:    "backslash separators",
			only:    Zip,
			members: []member{file(`modules\x\main.tf`, "m")},
			want:    map[string]string{"modules/x/main.tf": "m"},
		},
		{
			name:    "empty archive",
			members: nil,
			want:    map[string]string{},
		},
		{
			name:    "unicode name",
			members: []member{file("docs/übersicht.md", "ü")},
			want:    map[string]string{"docs/übersicht.md": "ü"},
		},
	}
	for _, tt := range tests {
		for _, b := range builders {
			if tt.only != "" && tt.only != b.format {
				continue
			}
			t.Run(tt.name+"/"+string(b.format), func(t *testing.T) {
				got, _, err := collect(b.build(t, tt.members...), DefaultLimits())
				if err != nil {
					t.Fatalf("Scan: unexpected error: %v", err)
				}
				if !maps.Equal(got, tt.want) {
					t.Errorf("visited files:\n got  %q\n want %q", got, tt.want)
				}
			})
		}
	}
}

// TestChainedSymlinkEscape covers links whose targets stay inside the module
// when read as text but leave it once the archive's other links are
// followed, the way they would be after extraction.
func TestChainedSymlinkEscape(t *testing.T) {
	// chain returns n links, each pointing to the next, the last to
	// main.tf; with reverse, the last link has the first name.
	chain := func(n int, reverse bool) []member {
		name := func(i int) string {
			if reverse {
				i = n - 1 - i
			}
			return fmt.Sprintf("l%02d", i)
		}
		ms := []member{file("main.tf", "m")}
		for i := range n {
			to := "main.tf"
			if i < n-1 {
				to = name(i + 1)
			}
			ms = append(ms, symlink(name(i), to))
		}
		return ms
	}
	tests := []struct {
		name    string
		members []member
		want    string // the exact Reason; "" means the archive is accepted
	}{
		{
			name:    "link to the root followed three times",
			members: []member{symlink("l", "."), symlink("esc", "l/l/l/../../../etc/passwd")},
			want:    `archive entry "esc" is a symbolic link pointing outside the module through the symbolic link "l" (l/l/l/../../../etc/passwd)`,
		},
		{
			name:    "the escaping link comes first",
			members: []member{symlink("esc", "l/l/../../x"), file("main.tf", "m"), symlink("l", ".")},
			want:    `archive entry "esc" is a symbolic link pointing outside the module through the symbolic link "l" (l/l/../../x)`,
		},
		{
			name:    "link to a parent directory",
			members: []member{dir("a/"), symlink("a/up", ".."), symlink("esc", "a/up/a/up/../x")},
			want:    `archive entry "esc" is a symbolic link pointing outside the module through the symbolic link "a/up" (a/up/a/up/../x)`,
		},
		{
			name:    "link to a link",
			members: []member{symlink("x/p", ".."), symlink("q", "x/p"), symlink("w", "q/q/../../y")},
			want:    `archive entry "w" is a symbolic link pointing outside the module through the symbolic link "q" (q/q/../../y)`,
		},
		{
			name:    "from a subdirectory",
			members: []member{symlink("sub/dir/up", "../.."), symlink("sub/esc", "dir/up/..")},
			want:    `archive entry "sub/esc" is a symbolic link pointing outside the module through the symbolic link "sub/dir/up" (dir/up/..)`,
		},
		{
			name:    "backslashes",
			members: []member{symlink("l", "."), symlink("esc", `l\l\..\..\x`)},
			want:    `archive entry "esc" is a symbolic link pointing outside the module through the symbolic link "l" (l\l\..\..\x)`,
		},
		{
			name:    "as written in the finding (already refused as text)",
			members: []member{symlink("l", "."), symlink("esc", "l/l/l/../../../../etc/passwd")},
			want:    `archive entry "esc" is a symbolic link pointing outside the module (l/l/l/../../../../etc/passwd)`,
		},
		{
			name:    "inside once followed but outside as text",
			members: []member{file("main.tf", "m"), dir("modules/a/"), symlink("m", "modules/a"), symlink("lex", "m/../../main.tf")},
			want:    `archive entry "lex" is a symbolic link pointing outside the module (m/../../main.tf)`,
		},
		{
			name:    "two links in a loop",
			members: []member{symlink("a", "b"), symlink("b", "a")},
			want:    `archive entry "a" is a symbolic link that leads back to itself (b)`,
		},
		{
			name:    "link through itself",
			members: []member{dir("d/"), symlink("d/l", "../d/l/x")},
			want:    `archive entry "d/l" is a symbolic link that leads back to itself (../d/l/x)`,
		},
		{
			name:    "chain too long",
			members: chain(maxLinkDepth+2, false),
			want:    fmt.Sprintf(`archive entry "l00" is a symbolic link through more than %d other symbolic links`, maxLinkDepth),
		},
		{
			name:    "chain too long, named from its end",
			members: chain(maxLinkDepth+2, true),
			want:    fmt.Sprintf(`archive entry "l%02d" is a symbolic link through more than %d other symbolic links`, maxLinkDepth+1, maxLinkDepth),
		},
		{
			name:    "chain at the limit",
			members: chain(maxLinkDepth+1, false),
		},
		{
			name:    "chain at the limit, named from its end",
			members: chain(maxLinkDepth+1, true),
		},
		{
			name:    "in-tree relative link",
			members: []member{file("modules/b/file.tf", "b"), symlink("modules/a/link", "../b/file.tf")},
		},
		{
			name:    "through a link to the root",
			members: []member{file("main.tf", "m"), symlink("l", "."), symlink("ok", "l/l/l/main.tf")},
		},
		{
			name:    "through a link to a sibling directory",
			members: []member{file("modules/b/file.tf", "b"), symlink("modules/a/shared", "../b"), symlink("modules/a/x.tf", "shared/file.tf")},
		},
		{
			name:    "up through a link, staying inside",
			members: []member{dir("a/b/"), symlink("a/b/up", ".."), symlink("ok", "a/b/up/../b")},
		},
		{
			name:    "dangling link",
			members: []member{symlink("modules/a/missing", "../../nowhere/x.tf")},
		},
	}
	for _, tt := range tests {
		for _, b := range builders {
			t.Run(tt.name+"/"+string(b.format), func(t *testing.T) {
				_, _, err := collect(b.build(t, tt.members...), DefaultLimits())
				if tt.want == "" {
					if err != nil {
						t.Fatalf("Scan: unexpected error: %v", err)
					}
					return
				}
				assertInvalid(t, err, tt.want)
			})
		}
	}
}

func TestFileMode(t *testing.T) {
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			data := b.build(t, member{Name: "run.sh", Body: "#!/bin/sh", Mode: 0o755}, file("main.tf", ""))
			modes := map[string]fs.FileMode{}
			_, _, err := Scan(bytes.NewReader(data), int64(len(data)), Limits{}, func(f File) error {
				modes[f.Path] = f.Mode
				return nil
			})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			want := map[string]fs.FileMode{"run.sh": 0o755, "main.tf": 0o644}
			if !maps.Equal(modes, want) {
				t.Errorf("modes = %v, want %v", modes, want)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		head []byte
		want Format
	}{
		{[]byte{0x1f, 0x8b, 0x08, 0x00}, TarGz},
		{[]byte{0x1f, 0x8b}, TarGz},
		{[]byte("PK\x03\x04"), Zip},
		{[]byte("PK\x05\x06"), Zip},
		{[]byte("PK\x07\x08"), ""},
		{[]byte("PK"), ""},
		{[]byte("ustar"), ""},
		{[]byte(`terraform {}`), ""},
		{nil, ""},
	}
	for _, tt := range tests {
		got, err := Sniff(tt.head)
		if got != tt.want {
			t.Errorf("Sniff(%q) = %q, want %q", tt.head, got, tt.want)
		}
		if tt.want == "" && err != ErrUnknownFormat {
			t.Errorf("Sniff(%q) error = %v, want ErrUnknownFormat", tt.head, err)
		}
		if tt.want != "" && err != nil {
			t.Errorf("Sniff(%q) error = %v, want none", tt.head, err)
		}
	}
}

func TestScanNotAnArchive(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("x"), []byte(`variable "x" {}`), []byte("PK")} {
		format, _, err := Scan(bytes.NewReader(data), int64(len(data)), Limits{}, nil)
		if !errors.Is(err, ErrUnknownFormat) || format != "" {
			t.Errorf("Scan(%q) = %q, %v; want ErrUnknownFormat", data, format, err)
		}
		if !errors.Is(err, ErrInvalid) || err.Error() != "the file is not a .tar.gz or .zip archive" {
			t.Errorf("Scan(%q) error = %q; want ErrInvalid with the documented message", data, err)
		}
	}
}

func TestScanGzipWithoutTar(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	io.WriteString(gz, strings.Repeat(`variable "x" {}`+"\n", 100))
	gz.Close()
	_, err := ScanTarGz(&buf, Limits{}, nil)
	assertInvalid(t, err, "the .tar.gz file does not hold a tar archive")
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestGzipBomb(t *testing.T) {
	lim := Limits{RatioFloor: 1 << 20}
	const size = 50 << 20
	want := "archive expands to more than 200 times its compressed size (possible zip bomb)"

	t.Run("in a file", func(t *testing.T) {
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		tw.WriteHeader(&tar.Header{Name: "zeros.bin", Typeflag: tar.TypeReg, Size: size, Mode: 0o644})
		io.CopyN(tw, zeros{}, size)
		tw.Close()
		gz.Close()
		visited := false
		_, err := ScanTarGz(&buf, lim, func(f File) error {
			visited = true
			_, err := io.Copy(io.Discard, f.Open())
			return err
		})
		assertInvalid(t, err, want)
		if !visited {
			t.Errorf("zeros.bin was not visited; the limit should have been hit while reading it")
		}
	})

	t.Run("after the tar end", func(t *testing.T) {
		// A tar of zeros is an empty tar; the bytes after its end still expand.
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		io.CopyN(gz, zeros{}, size)
		gz.Close()
		_, err := ScanTarGz(&buf, lim, nil)
		assertInvalid(t, err, want)
	})

	t.Run("zip", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("zeros.bin")
		io.CopyN(w, zeros{}, size)
		zw.Close()
		_, err := ScanZip(bytes.NewReader(buf.Bytes()), int64(buf.Len()), lim, nil)
		assertInvalid(t, err, want)
	})
}

func TestSmallCompressibleModulePasses(t *testing.T) {
	// Far above the ratio, but below the floor of the default limits.
	body := strings.Repeat(`# comment that repeats`+"\n", 200_000) // about 4.6 MB
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			data := b.build(t, file("main.tf", body))
			if ratio := float64(len(body)) / float64(len(data)); ratio < 200 {
				t.Fatalf("test archive ratio is %.0f; the test needs more than 200", ratio)
			}
			if _, _, err := collect(data, DefaultLimits()); err != nil {
				t.Errorf("Scan: unexpected error: %v", err)
			}
		})
	}
}

func TestTruncatedTarGz(t *testing.T) {
	data := tarGz(t, module...)
	for _, cut := range []int{len(data) / 2, len(data) - 4, 12} {
		_, err := ScanTarGz(bytes.NewReader(data[:cut]), Limits{}, nil)
		assertInvalid(t, err, "archive is corrupt: unexpected EOF")
	}
	_, err := ScanTarGz(bytes.NewReader(nil), Limits{}, nil)
	assertInvalid(t, err, "archive is corrupt: unexpected EOF")
}

func TestCorruptGzipChecksum(t *testing.T) {
	data := bytes.Clone(tarGz(t, module...))
	data[len(data)-6] ^= 0xff // inside the CRC-32 of the gzip trailer
	_, err := ScanTarGz(bytes.NewReader(data), Limits{}, nil)
	assertInvalid(t, err, "archive is corrupt: invalid checksum")
}

func TestTarContentShorterThanDeclared(t *testing.T) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "main.tf", Typeflag: tar.TypeReg, Size: 100, Mode: 0o644})
	io.WriteString(tw, strings.Repeat("x", 50))
	tw.Flush() // reports the missing bytes; the archive stays short on purpose
	gz.Close()
	_, err := collectTar(buf.Bytes())
	assertInvalid(t, err, "archive is corrupt: unexpected EOF")
}

func collectTar(data []byte) (map[string]string, error) {
	got := map[string]string{}
	_, err := ScanTarGz(bytes.NewReader(data), Limits{}, func(f File) error {
		b, err := io.ReadAll(f.Open())
		got[f.Path] = string(b)
		return err
	})
	return got, err
}

// rawZip builds a zip with one entry whose header says what h says, and
// whose stored bytes are deflated content (or content itself for Store).
func rawZip(t *testing.T, h zip.FileHeader, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&h)
	if err != nil {
		t.Fatalf("CreateRaw: %v", err)
	}
	if h.Method == zip.Deflate {
		fw, _ := flate.NewWriter(w, flate.DefaultCompression)
		fw.Write(content)
		fw.Close()
	} else {
		w.Write(content)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("closing zip: %v", err)
	}
	return buf.Bytes()
}

func deflatedSize(t *testing.T, content []byte) uint64 {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	fw.Write(content)
	fw.Close()
	return uint64(buf.Len())
}

func TestZipLyingHeaders(t *testing.T) {
	big := bytes.Repeat([]byte("terraform "), 100_000) // 1 MB
	small := []byte("variable \"x\" {}\n")
	tests := []struct {
		name    string
		header  zip.FileHeader
		content []byte
		lim     Limits
		want    string
	}{
		{
			name: "says small, holds large",
			header: zip.FileHeader{Name: "big.bin", Method: zip.Deflate, UncompressedSize64: 10,
				CompressedSize64: deflatedSize(t, big), CRC32: crc32.ChecksumIEEE(big)},
			content: big,
			lim:     Limits{MaxFileSize: 1 << 10},
			want:    `archive is corrupt: entry "big.bin" holds more data than its header says`,
		},
		{
			name: "says large, holds less",
			header: zip.FileHeader{Name: "main.tf", Method: zip.Deflate, UncompressedSize64: 1000,
				CompressedSize64: deflatedSize(t, small), CRC32: crc32.ChecksumIEEE(small)},
			content: small,
			want:    `archive is corrupt: entry "main.tf" is truncated or shorter than its header says`,
		},
		{
			name: "declared over MaxFileSize",
			header: zip.FileHeader{Name: "big.bin", Method: zip.Deflate, UncompressedSize64: uint64(len(big)),
				CompressedSize64: deflatedSize(t, big), CRC32: crc32.ChecksumIEEE(big)},
			content: big,
			lim:     Limits{MaxFileSize: 1 << 10},
			want:    `archive entry "big.bin" is larger than 1 KiB`,
		},
		{
			name: "declared absurdly large",
			header: zip.FileHeader{Name: "big.bin", Method: zip.Deflate, UncompressedSize64: 1 << 62,
				CompressedSize64: deflatedSize(t, small), CRC32: crc32.ChecksumIEEE(small)},
			content: small,
			want:    `archive entry "big.bin" is larger than 100 MiB`,
		},
		{
			name: "wrong checksum",
			header: zip.FileHeader{Name: "main.tf", Method: zip.Deflate, UncompressedSize64: uint64(len(small)),
				CompressedSize64: deflatedSize(t, small), CRC32: crc32.ChecksumIEEE(small) + 1},
			content: small,
			want:    `archive is corrupt: entry "main.tf" fails its checksum`,
		},
		{
			name: "unsupported compression method",
			header: zip.FileHeader{Name: "main.tf", Method: 12 /* bzip2 */, UncompressedSize64: uint64(len(small)),
				CompressedSize64: uint64(len(small)), CRC32: crc32.ChecksumIEEE(small)},
			content: small,
			want:    `archive entry "main.tf" uses an unsupported compression method (only store and deflate are allowed)`,
		},
		{
			name: "encrypted",
			header: zip.FileHeader{Name: "main.tf", Method: zip.Store, Flags: 0x1, UncompressedSize64: uint64(len(small)),
				CompressedSize64: uint64(len(small)), CRC32: crc32.ChecksumIEEE(small)},
			content: small,
			want:    `archive entry "main.tf" is encrypted; encrypted archives are not supported`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := rawZip(t, tt.header, tt.content)
			// Visit reads nothing: the scan must check the content anyway.
			_, err := ScanZip(bytes.NewReader(data), int64(len(data)), tt.lim, nil)
			assertInvalid(t, err, tt.want)
			// Visit reads everything and passes any error back wrapped.
			_, err = ScanZip(bytes.NewReader(data), int64(len(data)), tt.lim, func(f File) error {
				if _, err := io.Copy(io.Discard, f.Open()); err != nil {
					return errors.New("visit: " + err.Error())
				}
				return nil
			})
			assertInvalid(t, err, tt.want)
		})
	}
}

func TestCorruptZip(t *testing.T) {
	data := zipOf(t, module...)
	for _, cut := range []int{len(data) / 2, len(data) - 10, 4} {
		_, err := ScanZip(bytes.NewReader(data[:cut]), int64(cut), Limits{}, nil)
		assertInvalid(t, err, "")
		if !strings.HasPrefix(err.Error(), "archive is corrupt: ") {
			t.Errorf("error for a zip cut at %d = %q, want it to start with %q", cut, err, "archive is corrupt: ")
		}
	}
}

var errBoom = errors.New("connection reset")

// failingReader returns data and then errBoom.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBoom
	}
	return n, err
}

// failingReaderAt fails every read that touches bytes [from, to).
type failingReaderAt struct {
	data     []byte
	from, to int64
}

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, errBoom
	}
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestReadErrorsAreNotInvalid(t *testing.T) {
	tgz := tarGz(t, module...)
	zipData := zipOf(t, module...)
	tests := []struct {
		name string
		scan func() error
	}{
		{"tgz failing at once", func() error {
			_, err := ScanTarGz(&failingReader{bytes.NewReader(nil)}, Limits{}, nil)
			return err
		}},
		{"tgz failing half-way", func() error {
			_, err := ScanTarGz(&failingReader{bytes.NewReader(tgz[:len(tgz)/2])}, Limits{}, nil)
			return err
		}},
		{"tgz failing at the end", func() error {
			_, err := ScanTarGz(&failingReader{bytes.NewReader(tgz)}, Limits{}, nil)
			return err
		}},
		{"tgz failing while visit reads", func() error {
			_, err := ScanTarGz(&failingReader{bytes.NewReader(tgz[:len(tgz)/2])}, Limits{}, func(f File) error {
				_, err := io.Copy(io.Discard, f.Open())
				return err
			})
			return err
		}},
		{"zip failing at once", func() error {
			_, _, err := Scan(failingReaderAt{zipData, 0, 1}, int64(len(zipData)), Limits{}, nil)
			return err
		}},
		{"zip failing in the directory", func() error {
			_, err := ScanZip(failingReaderAt{zipData, int64(len(zipData) - 10), int64(len(zipData))}, int64(len(zipData)), Limits{}, nil)
			return err
		}},
		{"zip failing in the content", func() error {
			_, err := ScanZip(failingReaderAt{zipData, 40, 60}, int64(len(zipData)), Limits{}, nil)
			return err
		}},
		{"scan tgz failing in the content", func() error {
			_, _, err := Scan(failingReaderAt{tgz, 100, 101}, int64(len(tgz)), Limits{}, nil)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.scan()
			if !errors.Is(err, errBoom) {
				t.Errorf("error = %v, want one wrapping %v", err, errBoom)
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("error %q matches ErrInvalid; a failing reader is not an invalid archive", err)
			}
		})
	}
}

func TestScanTarGzDrains(t *testing.T) {
	data := tarGz(t, module...)
	withGarbage := append(bytes.Clone(data), []byte("trailing bytes that are not gzip")...)
	withMember := append(bytes.Clone(data), tarGz(t, file("ignored.tf", "x"))...)
	for name, upload := range map[string][]byte{"plain": data, "trailing garbage": withGarbage, "second gzip member": withMember} {
		t.Run(name, func(t *testing.T) {
			h := sha256.New()
			sum, err := ScanTarGz(io.TeeReader(bytes.NewReader(upload), h), Limits{}, nil)
			if err != nil {
				t.Fatalf("ScanTarGz: unexpected error: %v", err)
			}
			if sum.CompressedSize != int64(len(upload)) {
				t.Errorf("CompressedSize = %d, want %d", sum.CompressedSize, len(upload))
			}
			if want := sha256.Sum256(upload); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("the tee saw other bytes than the upload")
			}
			if sum.Files != 4 {
				t.Errorf("Files = %d, want 4", sum.Files)
			}
		})
	}
}

func TestVisitError(t *testing.T) {
	errStop := errors.New("stop")
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			data := b.build(t, module...)
			calls := 0
			_, _, err := Scan(bytes.NewReader(data), int64(len(data)), Limits{}, func(f File) error {
				calls++
				return errStop
			})
			if err != errStop {
				t.Errorf("error = %v, want the visit error itself", err)
			}
			if calls != 1 {
				t.Errorf("visit called %d times, want 1", calls)
			}
		})
	}
}

func TestOpenAfterVisit(t *testing.T) {
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			data := b.build(t, module...)
			var kept io.Reader
			_, _, err := Scan(bytes.NewReader(data), int64(len(data)), Limits{}, func(f File) error {
				if kept == nil {
					kept = f.Open()
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if n, err := kept.Read(make([]byte, 10)); n != 0 || err == nil {
				t.Errorf("read after visit = %d, %v; want 0 and an error", n, err)
			}
		})
	}
}

func TestWriteZip(t *testing.T) {
	for _, b := range builders {
		t.Run(string(b.format), func(t *testing.T) {
			upload := b.build(t, append(slices.Clone(module), member{Name: "run.sh", Body: "#!/bin/sh\n", Mode: 0o700}, symlink("link", "main.tf"))...)
			var out bytes.Buffer
			if err := WriteZip(&out, bytes.NewReader(upload), int64(len(upload)), Limits{}); err != nil {
				t.Fatalf("WriteZip: %v", err)
			}
			got, sum, err := collect(out.Bytes(), Limits{})
			if err != nil {
				t.Fatalf("scanning the written zip: %v", err)
			}
			want := maps.Clone(moduleFiles)
			want["run.sh"] = "#!/bin/sh\n"
			if !maps.Equal(got, want) {
				t.Errorf("written zip holds:\n got  %q\n want %q", got, want)
			}
			if sum.Entries != len(want) {
				t.Errorf("written zip has %d entries, want %d (files only)", sum.Entries, len(want))
			}
			zr, _ := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
			for _, f := range zr.File {
				want := fs.FileMode(0o644)
				if f.Name == "run.sh" {
					want = 0o755
				}
				if f.Mode() != want {
					t.Errorf("mode of %s = %v, want %v", f.Name, f.Mode(), want)
				}
			}

			var again bytes.Buffer
			if err := WriteZip(&again, bytes.NewReader(upload), int64(len(upload)), Limits{}); err != nil {
				t.Fatalf("WriteZip again: %v", err)
			}
			if !bytes.Equal(out.Bytes(), again.Bytes()) {
				t.Errorf("WriteZip is not deterministic")
			}
		})
	}
}

func TestWriteZipRejectsInvalid(t *testing.T) {
	upload := tarGz(t, file("../evil.tf", "x"))
	err := WriteZip(io.Discard, bytes.NewReader(upload), int64(len(upload)), Limits{})
	assertInvalid(t, err, `archive entry "../evil.tf" escapes the module root`)
}

func TestFormatSize(t *testing.T) {
	tests := map[int64]string{1: "1 byte", 1000: "1000 bytes", 1 << 10: "1 KiB", 1536: "1536 bytes", 100 << 20: "100 MiB", 1 << 30: "1 GiB", 3 << 30: "3 GiB"}
	for n, want := range tests {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
