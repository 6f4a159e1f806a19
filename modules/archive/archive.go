// Package archive validates uploaded module archives (.tar.gz and .zip) and
// re-encodes them as zip. Archives are hostile input: every entry name,
// type, size and link target is checked, sizes are enforced on the bytes
// actually decompressed (headers lie), and nothing is buffered whole, so
// memory stays bounded whatever the archive claims.
//
// Scanning streams: visit sees each file before later entries have been
// checked, so a caller must discard whatever visit did when a scan fails.
package archive

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
)

// Format is the container format of an uploaded archive.
type Format string

// The archive formats Cairn accepts.
const (
	TarGz Format = "tgz" // gzip-compressed tar
	Zip   Format = "zip"
)

// ErrInvalid matches (with errors.Is) every validation failure, so callers
// can answer 400; the *Error in the chain says what is wrong. Failures to
// read the input are not validation failures and do not match.
var ErrInvalid = errors.New("invalid module archive")

// Error is a validation failure. Reason is a sentence for the person who
// uploaded the archive.
type Error struct {
	Reason string
}

// Error returns Reason.
func (e *Error) Error() string { return e.Reason }

// Is makes every *Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// ErrUnknownFormat means the upload is neither a gzip nor a zip file.
var ErrUnknownFormat = &Error{Reason: "the file is not a .tar.gz or .zip archive"}

// Sniff tells the format from the first bytes of a file (four are enough).
func Sniff(head []byte) (Format, error) {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return TarGz, nil
	case len(head) >= 4 && (string(head[:4]) == "PK\x03\x04" || string(head[:4]) == "PK\x05\x06"):
		// A local file header, or the end record of an empty zip.
		return Zip, nil
	}
	return "", ErrUnknownFormat
}

// Limits bound what an archive may hold. A zero or negative field means the
// DefaultLimits value, so a partly filled Limits is never unlimited.
type Limits struct {
	MaxEntries   int     // entries of any kind
	MaxFileSize  int64   // bytes in one file
	MaxTotalSize int64   // bytes after decompression, all entries together (for tar.gz, the tar stream)
	MaxRatio     float64 // decompressed bytes per compressed byte
	RatioFloor   int64   // MaxRatio applies only past this many decompressed bytes
	MaxPathLen   int     // bytes in an entry name
	MaxDepth     int     // path components in an entry name
}

// DefaultLimits are generous for Terraform modules and small enough to stop
// archive bombs. The ratio floor lets small, very compressible text modules
// through: their ratio can exceed 200, but they cannot expand to much.
func DefaultLimits() Limits {
	return Limits{
		MaxEntries:   10_000,
		MaxFileSize:  100 << 20,
		MaxTotalSize: 1 << 30,
		MaxRatio:     200,
		RatioFloor:   10 << 20,
		MaxPathLen:   1024,
		MaxDepth:     64,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxEntries <= 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	if !(l.MaxRatio > 0) { // also catches NaN
		l.MaxRatio = d.MaxRatio
	}
	if l.RatioFloor <= 0 {
		l.RatioFloor = d.RatioFloor
	}
	if l.MaxPathLen <= 0 {
		l.MaxPathLen = d.MaxPathLen
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	return l
}

// tooBig reports whether total decompressed bytes break the total size or
// the ratio limit, given how many compressed bytes produced them.
func (l Limits) tooBig(total, compressed int64) *Error {
	if total > l.MaxTotalSize {
		return invalidf("archive expands to more than %s", formatSize(l.MaxTotalSize))
	}
	if total > l.RatioFloor && float64(total) > l.MaxRatio*float64(compressed) {
		return invalidf("archive expands to more than %s times its compressed size (possible zip bomb)",
			strconv.FormatFloat(l.MaxRatio, 'f', -1, 64))
	}
	return nil
}

// File is a regular file in an archive, as passed to a visit function.
type File struct {
	Path string      // cleaned, slash-separated, relative: "modules/x/main.tf"
	Size int64       // declared size; the content is checked to match it
	Mode fs.FileMode // permission bits only
	// Open returns the file's content. The reader is valid only during the
	// visit call; every call returns the same reader. A read error that
	// makes the archive invalid matches ErrInvalid.
	Open func() io.Reader
}

// Summary describes a scanned archive.
type Summary struct {
	Entries          int   // entries of every kind, directories included
	Files            int   // regular files (the ones visited)
	UncompressedSize int64 // bytes of file content
	CompressedSize   int64 // bytes of the archive itself
}

// Scan tells the format of the archive in ra (size bytes long) and scans it
// with ScanTarGz or ScanZip. visit may be nil to validate only.
func Scan(ra io.ReaderAt, size int64, lim Limits, visit func(f File) error) (Format, Summary, error) {
	head := make([]byte, min(max(size, 0), 4))
	n, err := ra.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", Summary{}, fmt.Errorf("archive: reading the upload: %w", err)
	}
	format, err := Sniff(head[:n])
	if err != nil {
		return "", Summary{}, err
	}
	var sum Summary
	if format == TarGz {
		sum, err = ScanTarGz(io.NewSectionReader(ra, 0, size), lim, visit)
	} else {
		sum, err = ScanZip(ra, size, lim, visit)
	}
	return format, sum, err
}

// WriteZip re-encodes the archive in ra, whatever its format, as a zip of
// its regular files written to w, so that one kind of download can be
// served for every upload. It streams file by file. Entries are written in
// archive order with normalised permissions and no timestamps, so the same
// upload always gives the same bytes. When WriteZip fails, w holds a partial
// zip that must be discarded.
func WriteZip(w io.Writer, ra io.ReaderAt, size int64, lim Limits) error {
	zw := zip.NewWriter(w)
	buf := make([]byte, 32<<10)
	_, _, err := Scan(ra, size, lim, func(f File) error {
		mode := fs.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			mode = 0o755
		}
		h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate}
		h.SetMode(mode)
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("archive: writing zip: %w", err)
		}
		if _, err := io.CopyBuffer(fw, f.Open(), buf); err != nil {
			return fmt.Errorf("archive: writing zip: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("archive: writing zip: %w", err)
	}
	return nil
}

// corrupt turns an error from a decoder into a validation failure.
func corrupt(err error) *Error {
	return invalidf("archive is corrupt: %s", decoderMessage(err))
}

// decoderMessage is a decoder's error message without its package prefix.
func decoderMessage(err error) string {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	msg := err.Error()
	for _, prefix := range []string{"archive/tar: ", "gzip: ", "flate: ", "zip: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// errEntryClosed is returned by reads of a File after its visit returned.
var errEntryClosed = errors.New("archive: file read after its visit returned")

// quote quotes an entry name for a message, shortening absurdly long ones.
func quote(s string) string {
	const maxLen = 100
	if len(s) > maxLen {
		return strconv.Quote(s[:maxLen] + "…")
	}
	return strconv.Quote(s)
}

// formatSize writes a byte count the way limits are usually set.
func formatSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}
