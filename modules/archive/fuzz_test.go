package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
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
	f.Add(build(f, file("a", "x"), file("a/b", "y"), file("a", "z")))
	f.Add(build(f, dir("d/"), member{Name: "d/run.sh", Body: "#!/bin/sh", Mode: 0o755}))
	f.Add(build(f))
}

// checkScan scans data reading every file fully and checks what must hold
// for any input read from memory: no panic, every error is a validation
// failure, and a success visits Summary.Files files of their declared size.
func checkScan(t *testing.T, scan func(visit func(File) error) (Summary, error)) {
	visited := 0
	var content int64
	sum, err := scan(func(f File) error {
		visited++
		n, err := io.Copy(io.Discard, f.Open())
		if err == nil && n != f.Size {
			t.Errorf("file %q: read %d bytes, declared %d", f.Path, n, f.Size)
		}
		content += n
		return err
	})
	if err != nil {
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error reading from memory is not ErrInvalid: %v", err)
		}
		return
	}
	if visited != sum.Files {
		t.Errorf("visited %d files, Summary.Files = %d", visited, sum.Files)
	}
	if content != sum.UncompressedSize {
		t.Errorf("read %d bytes of content, Summary.UncompressedSize = %d", content, sum.UncompressedSize)
	}
}

func FuzzScanTarGz(f *testing.F) {
	fuzzSeeds(f, tarGz)
	f.Add(tarGz(f, hardlink("h", "a"), special("c", tar.TypeChar)))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, func(visit func(File) error) (Summary, error) {
			return ScanTarGz(bytes.NewReader(data), fuzzLimits, visit)
		})
	})
}

func FuzzScanZip(f *testing.F) {
	fuzzSeeds(f, zipOf)
	f.Add(zipOf(f, file(`a\..\..\b`, "x"), special("fifo", tar.TypeFifo)))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkScan(t, func(visit func(File) error) (Summary, error) {
			return ScanZip(bytes.NewReader(data), int64(len(data)), fuzzLimits, visit)
		})
		// What Scan accepts re-encodes, and the result scans clean too.
		var out bytes.Buffer
		if _, _, err := Scan(bytes.NewReader(data), int64(len(data)), fuzzLimits, nil); err != nil {
			return
		}
		if err := WriteZip(&out, bytes.NewReader(data), int64(len(data)), fuzzLimits); err != nil {
			t.Fatalf("WriteZip of a valid archive: %v", err)
		}
		again := fuzzLimits
		again.MaxRatio = 1e12 // re-compression may pack better than the original
		if _, err := ScanZip(bytes.NewReader(out.Bytes()), int64(out.Len()), again, nil); err != nil {
			t.Fatalf("scanning the zip WriteZip wrote: %v", err)
		}
	})
}
