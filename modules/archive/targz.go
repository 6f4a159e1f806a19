package archive

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// ScanTarGz reads a gzip-compressed tar stream once, validating it as it
// goes, and calls visit (unless nil) for each regular file in archive order.
// If visit returns an error, the scan stops and returns it (or the
// validation failure behind it, when the error came from reading the file).
//
// After the last tar entry it reads the rest of the gzip stream, so that a
// truncated or corrupt end is noticed, and then drains r, so that a reader
// teeing r (to hash or store the upload) sees every byte; bytes after the
// gzip stream are ignored, not rejected. r should be bounded by the caller
// (an upload size limit). On failure r is left partly read.
func ScanTarGz(r io.Reader, lim Limits, visit func(f File) error) (Summary, error) {
	lim = lim.withDefaults()
	s := &tgzScan{
		lim:  lim,
		raw:  &countingReader{r: r},
		buf:  make([]byte, 32<<10),
		tree: newTree(lim),
	}
	sum, err := s.run(visit)
	sum.Entries = s.tree.entries
	sum.CompressedSize = s.raw.n
	return sum, err
}

// countingReader counts the compressed bytes read from the upload and
// remembers the first error that was not about reaching its end.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

type tgzScan struct {
	lim      Limits
	raw      *countingReader
	buf      []byte
	tree     *tree
	sum      Summary
	stream   int64 // bytes out of gzip: the tar stream
	declared int64 // declared sizes of the files so far
	failed   error // first failure; every later read returns it
}

// fail records err as the scan's failure unless there is one already, and
// returns the recorded failure.
func (s *tgzScan) fail(err error) error {
	if s.failed == nil {
		s.failed = err
	}
	return s.failed
}

// classify records and returns the failure behind an error from gzip or
// tar: a limit already hit, the upload failing to read (not ErrInvalid), or
// else a corrupt archive.
func (s *tgzScan) classify(err error) error {
	if s.failed == nil && s.raw.err != nil {
		return s.fail(fmt.Errorf("archive: reading the upload: %w", s.raw.err))
	}
	return s.fail(corrupt(err))
}

// checkSize enforces the total size and ratio limits on the larger of the
// tar stream and the file content read (which tar can make larger than the
// stream, e.g. sparse files, were they allowed).
func (s *tgzScan) checkSize() error {
	if err := s.lim.tooBig(max(s.stream, s.sum.UncompressedSize), s.raw.n); err != nil {
		return s.fail(err)
	}
	return nil
}

// expander is the decompressed stream between gzip and tar.
type expander struct {
	s  *tgzScan
	gz io.Reader
}

func (e *expander) Read(p []byte) (int, error) {
	if e.s.failed != nil {
		return 0, e.s.failed
	}
	n, err := e.gz.Read(p)
	e.s.stream += int64(n)
	if lerr := e.s.checkSize(); lerr != nil {
		return 0, lerr
	}
	return n, err
}

func (s *tgzScan) run(visit func(File) error) (Summary, error) {
	gz, err := gzip.NewReader(s.raw)
	if err != nil {
		return s.sum, s.classify(err)
	}
	stream := &expander{s: s, gz: gz}
	tr := tar.NewReader(stream)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		// With GODEBUG=tarinsecurepath=0 tar flags unsafe names itself;
		// the checks below say more precisely what is wrong.
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			if errors.Is(err, tar.ErrHeader) && s.tree.entries == 0 && s.failed == nil && s.raw.err == nil {
				return s.sum, s.fail(invalidf("the .tar.gz file does not hold a tar archive"))
			}
			return s.sum, s.classify(err)
		}
		if err := s.entry(tr, hdr, visit); err != nil {
			return s.sum, err
		}
	}
	if err := s.tree.finish(); err != nil {
		return s.sum, s.fail(err)
	}

	// Read the gzip stream to its end: its checksum and length come last,
	// and whatever follows the tar end still counts toward the limits.
	// Later gzip members and other trailing bytes are only drained.
	gz.Multistream(false)
	for {
		_, err := stream.Read(s.buf)
		if err == io.EOF || errors.Is(err, gzip.ErrHeader) && s.failed == nil {
			break
		}
		if err != nil {
			return s.sum, s.classify(err)
		}
	}
	if _, err := io.CopyBuffer(io.Discard, s.raw, s.buf); err != nil {
		return s.sum, s.classify(err)
	}
	return s.sum, nil
}

// entry checks one tar entry and, for a regular file, visits it and then
// reads whatever visit left unread.
func (s *tgzScan) entry(tr *tar.Reader, hdr *tar.Header, visit func(File) error) error {
	var k kind
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader:
		return nil // pax metadata for the whole archive (git archive writes one), not an entry
	case tar.TypeReg:
		k = kindFile
	case tar.TypeDir:
		k = kindDir
	case tar.TypeSymlink:
		k = kindSymlink
	case tar.TypeLink:
		return s.fail(invalidf("archive entry %s is a hard link; hard links are not allowed", quote(hdr.Name)))
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return s.fail(invalidf("archive entry %s is a device or named pipe; only files, directories and symbolic links are allowed", quote(hdr.Name)))
	case tar.TypeGNUSparse:
		return s.fail(invalidf("archive entry %s is a sparse file; sparse files are not allowed", quote(hdr.Name)))
	default:
		return s.fail(invalidf("archive entry %s has an unsupported type (%q)", quote(hdr.Name), hdr.Typeflag))
	}
	if k == kindFile && isSparse(hdr) {
		return s.fail(invalidf("archive entry %s is a sparse file; sparse files are not allowed", quote(hdr.Name)))
	}
	p, err := s.tree.add(hdr.Name, k, hdr.Linkname)
	if err != nil {
		return s.fail(err)
	}
	if k != kindFile {
		return nil
	}
	if hdr.Size > s.lim.MaxFileSize {
		return s.fail(invalidf("archive entry %s is larger than %s", quote(hdr.Name), formatSize(s.lim.MaxFileSize)))
	}
	s.declared += hdr.Size
	if s.declared > s.lim.MaxTotalSize {
		return s.fail(invalidf("archive expands to more than %s", formatSize(s.lim.MaxTotalSize)))
	}
	s.sum.Files++

	e := &tarEntry{s: s, r: tr, name: hdr.Name, left: hdr.Size}
	if visit != nil {
		err := visit(File{
			Path: p,
			Size: hdr.Size,
			Mode: fs.FileMode(hdr.Mode).Perm(),
			Open: func() io.Reader { return e },
		})
		if err != nil {
			if s.failed != nil {
				return s.failed
			}
			return err
		}
	}
	e.closed = true
	for {
		_, err := e.read(s.buf)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// isSparse reports a GNU sparse file stored in pax format: tar would fill
// its holes with zeros that never went through gzip.
func isSparse(hdr *tar.Header) bool {
	for key := range hdr.PAXRecords {
		if strings.HasPrefix(key, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// tarEntry is the content of one file, as handed to visit.
type tarEntry struct {
	s      *tgzScan
	r      io.Reader
	name   string
	left   int64 // declared bytes not read yet
	closed bool
}

func (e *tarEntry) Read(p []byte) (int, error) {
	if e.closed {
		return 0, errEntryClosed
	}
	return e.read(p)
}

func (e *tarEntry) read(p []byte) (int, error) {
	if e.s.failed != nil {
		return 0, e.s.failed
	}
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	e.s.sum.UncompressedSize += int64(n)
	if lerr := e.s.checkSize(); lerr != nil {
		return 0, lerr
	}
	switch {
	case err == io.EOF && e.left > 0:
		return n, e.s.fail(invalidf("archive is corrupt: entry %s is shorter than its header says", quote(e.name)))
	case err != nil && err != io.EOF:
		return n, e.s.classify(err)
	}
	return n, err
}
