package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzLimits keep each fuzz input cheap to scan.
var fuzzLimits = Limits{
	MaxEntries:   64,
	MaxFileSize:  256 << 10,
	MaxTotalSize: 1 << 20,
	RatioFloor:   64 << 10,
	MaxPathLen:   256,
	MaxDepth:     16,
}

// fuzzSeeds are archives, good and bad, to start from.
func fuzzSeeds(f *testing.F, build func(testing.TB, ...member) []byte) {
	f.Add(build(f, module...))
	f.Add(build(f, file("../x", "x")))
	f.Add(build(f, symlink("a/link", "../b"), file("b", "b")))
	f.Add(build(f, symlink("l", "."), symlink("esc", "l/l/../../x")))
	f.Add(build(f, file("a", "x"), file("a/b", "y"), file("a", "z")))
	f.Add(build(f, dir("d/"), member{Name: "d/run.sh", Body: "#!/bin/sh", Mode: 0o755}))
	f.Add(build(f))
}

// checkScan scans data reading every file fully and checks what must hold
// for any input read from memory: no panic, every error is a validation
// failure, and a success visits Summary.Files files of their declared size,
// each under a clean relative path (no "..", no leading "/", no "\", within
// the limits) that no other file has. It returns the files read, nil when
// the archive is invalid.
func checkScan(t *testing.T, scan func(visit func(File) error) (Summary, error)) map[string]string {
	files := map[string]string{}
	var content int64
	sum, err := scan(func(f File) error {
		if !fs.ValidPath(f.Path) || f.Path == "." || strings.Contains(f.Path, `\`) {
			t.Errorf("visited a file with an unclean path %q", f.Path)
		}
		if len(f.Path) > fuzzLimits.MaxPathLen || strings.Count(f.Path, "/") >= fuzzLimits.MaxDepth {
			t.Errorf("visited a file with a path over the limits: %q", f.Path)
		}
		if _, dup := files[f.Path]; dup {
			t.Errorf("visited %q twice", f.Path)
		}
		if f.Mode&^fs.ModePerm != 0 {
			t.Errorf("file %q: mode %v has more than permission bits", f.Path, f.Mode)
		}
		b, err := io.ReadAll(f.Open())
		if err == nil && int64(len(b)) != f.Size {
			t.Errorf("file %q: read %d bytes, declared %d", f.Path, len(b), f.Size)
		}
		files[f.Path] = string(b)
		content += int64(len(b))
		return err
	})
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error reading from memory is not ErrInvalid: %v", err)
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Reason == "" {
			t.Fatalf("validation failure %q is not an *Error with a reason", err)
		}
		return nil
	}
	if len(files) != sum.Files {
		t.Errorf("visited %d files, Summary.Files = %d", len(files), sum.Files)
	}
	if content != sum.UncompressedSize {
		t.Errorf("read %d bytes of content, Summary.UncompressedSize = %d", content, sum.UncompressedSize)
	}
	if sum.Entries < sum.Files || sum.Entries > fuzzLimits.MaxEntries {
		t.Errorf("Summary.Entries = %d with %d files, limit %d", sum.Entries, sum.Files, fuzzLimits.MaxEntries)
	}
	return files
}

// checkWriteZip checks that an archive Scan accepts re-encodes, and that
// the zip written scans clean and holds the same files.
func checkWriteZip(t *testing.T, data []byte, files map[string]string) {
	var out bytes.Buffer
	if err := WriteZip(&out, bytes.NewReader(data), int64(len(data)), fuzzLimits); err != nil {
		t.Fatalf("WriteZip of a valid archive: %v", err)
	}
	again := fuzzLimits
	again.MaxRatio = 1e12 // re-compression may pack better than the original
	got := checkScan(t, func(visit func(File) error) (Summary, error) {
		return ScanZip(bytes.NewReader(out.Bytes()), int64(out.Len()), again, visit)
	})
	if got == nil {
		_, err := ScanZip(bytes.NewReader(out.Bytes()), int64(out.Len()), again, nil)
		t.Fatalf("scanning the zip WriteZip wrote: %v", err)
	}
	if !maps.Equal(got, files) {
		t.Errorf("the zip WriteZip wrote holds other files: %d files, want %d", len(got), len(files))
	}
}

func FuzzScanTarGz(f *testing.F) {
	fuzzSeeds(f, tarGz)
	f.Add(tarGz(f, hardlink("h", "a"), special("c", tar.TypeChar)))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		files := checkScan(t, func(visit func(File) error) (Summary, error) {
			return ScanTarGz(bytes.NewReader(data), fuzzLimits, visit)
		})
		if files != nil && len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			checkWriteZip(t, data, files)
		}
	})
}

func FuzzScanZip(f *testing.F) {
	fuzzSeeds(f, zipOf)
	f.Add(zipOf(f, file(`a\..\..\b`, "x"), special("fifo", tar.TypeFifo)))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		files := checkScan(t, func(visit func(File) error) (Summary, error) {
			return ScanZip(bytes.NewReader(data), int64(len(data)), fuzzLimits, visit)
		})
		// Scan goes by the first bytes, which ScanZip does not need.
		if format, err := Sniff(data); files != nil && err == nil && format == Zip {
			checkWriteZip(t, data, files)
		}
	})
}

// FuzzLinkResolution checks the symbolic link checks against the kernel: a
// tree the checks accept is created on disk, and os.Root, which refuses to
// leave its directory, must not find any of its links leading out. The
// input lists one entry a line: "path" is a file, "path/" a directory and
// "path -> target" a symbolic link.
func FuzzLinkResolution(f *testing.F) {
	f.Add("l -> .\nesc -> l/l/../../x\n")
	f.Add("main.tf\nmodules/b/file.tf\nmodules/a/link -> ../b/file.tf\n")
	f.Add("a/b/\na/b/up -> ..\nok -> a/b/up/../b\n")
	f.Add("x/p -> ..\nq -> x/p\nw -> q/q/../../y\n")
	f.Add("sub/dir/up -> ../..\nsub/esc -> dir/up/..\n")
	f.Add("m -> modules/a\nmodules/a/\nlex -> m/../../main.tf\n")
	f.Add("a -> b\nb -> a\n")
	f.Fuzz(func(t *testing.T, spec string) {
		type entry struct {
			path, target string
			k            kind
		}
		tr := newTree(fuzzLimits)
		var entries []entry
		for line := range strings.SplitSeq(spec, "\n") {
			if line == "" {
				continue
			}
			k, name, target := kindFile, line, ""
			if n, to, ok := strings.Cut(line, " -> "); ok {
				k, name, target = kindSymlink, n, to
			} else if strings.HasSuffix(line, "/") {
				k = kindDir
			}
			p, err := tr.add(name, k, target)
			if err != nil {
				checkInvalid(t, err)
				return
			}
			if p != "" {
				entries = append(entries, entry{p, strings.ReplaceAll(target, `\`, "/"), k})
			}
		}
		if err := tr.finish(); err != nil {
			checkInvalid(t, err)
			return
		}
		if len(tr.links) == 0 {
			return
		}

		// Create the tree, as a tool extracting the archive would.
		dir := filepath.Join(t.TempDir(), "module")
		for _, e := range entries {
			full := filepath.Join(dir, filepath.FromSlash(e.path))
			parent := filepath.Dir(full)
			if e.k == kindDir {
				parent = full
			}
			if err := os.MkdirAll(parent, 0o755); err != nil {
				t.Skip(err) // a name the file system refuses, such as one too long
			}
			var err error
			switch e.k {
			case kindFile:
				err = os.WriteFile(full, nil, 0o644)
			case kindSymlink:
				err = os.Symlink(e.target, full)
			}
			if err != nil {
				t.Skip(err)
			}
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		for p := range tr.links {
			_, err := root.Stat(p)
			if err != nil && strings.Contains(err.Error(), "path escapes from parent") {
				t.Errorf("symbolic link %q was accepted but leads outside the module: %v", p, err)
			}
		}
	})
}

// checkInvalid checks that err is a validation failure with a reason.
func checkInvalid(t *testing.T, err error) {
	t.Helper()
	var ae *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ae) || ae.Reason == "" {
		t.Fatalf("error %q (%T) is not a validation failure with a reason", err, err)
	}
}
