package archive

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// ScanZip validates the zip archive in ra (size bytes long) and calls visit
// (unless nil) for each regular file in central-directory order. Names,
// types, link targets and declared sizes of all entries are checked before
// the first visit; contents are then checked as they are read, against the
// limits and against the headers, which may lie. If visit returns an error,
// the scan stops and returns it (or the validation failure behind it, when
// the error came from reading the file).
//
// archive/zip keeps the central directory in memory, which grows with size;
// callers bound the upload size.
func ScanZip(ra io.ReaderAt, size int64, lim Limits, visit func(f File) error) (Summary, error) {
	lim = lim.withDefaults()
	s := &zipScan{
		lim:  lim,
		ra:   &recordingReaderAt{ra: ra},
		size: size,
		buf:  make([]byte, 32<<10),
		tree: newTree(lim),
	}
	err := s.run(visit)
	s.sum.Entries = s.tree.entries
	s.sum.CompressedSize = size
	return s.sum, err
}

// recordingReaderAt remembers the first error of ra that was not about
// reading past its end, to tell a failing upload from a corrupt one.
type recordingReaderAt struct {
	ra  io.ReaderAt
	err error
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		// A hostile header can make zip compute one; that is corruption,
		// not a failing upload.
		return 0, errNegativeOffset
	}
	n, err := r.ra.ReadAt(p, off)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

var errNegativeOffset = errors.New("entry offset out of range")

type zipScan struct {
	lim    Limits
	ra     *recordingReaderAt
	size   int64
	buf    []byte
	tree   *tree
	sum    Summary
	read   int64 // decompressed bytes, link targets included
	failed error // first failure; every later read returns it
}

// zipMember is a regular file waiting to be visited.
type zipMember struct {
	f    *zip.File
	path string
}

// fail records err as the scan's failure unless there is one already, and
// returns the recorded failure.
func (s *zipScan) fail(err error) error {
	if s.failed == nil {
		s.failed = err
	}
	return s.failed
}

func (s *zipScan) run(visit func(File) error) error {
	zr, err := zip.NewReader(s.ra, s.size)
	// With GODEBUG=zipinsecurepath=0 zip flags unsafe names itself but
	// still returns the reader; the checks below are more precise.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		if s.ra.err != nil {
			return s.fail(fmt.Errorf("archive: reading the upload: %w", s.ra.err))
		}
		return s.fail(corrupt(err))
	}
	if len(zr.File) > s.lim.MaxEntries {
		return s.fail(invalidf("archive has more than %d entries", s.lim.MaxEntries))
	}

	var files []zipMember
	var declared uint64
	for _, f := range zr.File {
		k, err := zipKind(f)
		if err != nil {
			return s.fail(err)
		}
		if k != kindDir && f.Flags&0x1 != 0 {
			return s.fail(invalidf("archive entry %s is encrypted; encrypted archives are not supported", quote(f.Name)))
		}
		var target string
		if k == kindSymlink {
			if target, err = s.linkTarget(f); err != nil {
				return err
			}
		}
		p, err := s.tree.add(f.Name, k, target)
		if err != nil {
			return s.fail(err)
		}
		if k != kindFile {
			continue
		}
		if f.UncompressedSize64 > uint64(s.lim.MaxFileSize) {
			return s.fail(invalidf("archive entry %s is larger than %s", quote(f.Name), formatSize(s.lim.MaxFileSize)))
		}
		declared += f.UncompressedSize64 // no overflow: each term and the sum so far are below 1<<63
		if declared > uint64(s.lim.MaxTotalSize) {
			return s.fail(invalidf("archive expands to more than %s", formatSize(s.lim.MaxTotalSize)))
		}
		files = append(files, zipMember{f: f, path: p})
	}
	if err := s.lim.tooBig(int64(declared), s.size); err != nil {
		return s.fail(err)
	}
	if err := s.tree.finish(); err != nil {
		return s.fail(err)
	}

	for _, m := range files {
		s.sum.Files++
		if err := s.member(m, visit); err != nil {
			return err
		}
	}
	return nil
}

// zipKind accepts files, directories and symbolic links.
func zipKind(f *zip.File) (kind, error) {
	mode := f.Mode()
	switch mode.Type() {
	case 0:
		return kindFile, nil
	case fs.ModeDir:
		return kindDir, nil
	case fs.ModeSymlink:
		return kindSymlink, nil
	}
	if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
		return 0, invalidf("archive entry %s is a device, socket or named pipe; only files, directories and symbolic links are allowed", quote(f.Name))
	}
	return 0, invalidf("archive entry %s has an unsupported type (%s)", quote(f.Name), mode.Type())
}

// linkTarget reads the target of a symbolic link, which zip stores as the
// entry's content.
func (s *zipScan) linkTarget(f *zip.File) (string, error) {
	bad := invalidf("archive entry %s is a symbolic link with an invalid target", quote(f.Name))
	if f.UncompressedSize64 > uint64(s.lim.MaxPathLen) {
		return "", s.fail(bad)
	}
	rc, err := f.Open()
	if err != nil {
		return "", s.entryError(f.Name, err, false)
	}
	defer rc.Close()
	// A declared size that fits means reading reaches the end, where zip
	// checks the length and checksum.
	b, err := io.ReadAll(io.LimitReader(rc, int64(s.lim.MaxPathLen)+1))
	s.read += int64(len(b))
	if err := s.lim.tooBig(s.read, s.size); err != nil {
		return "", s.fail(err)
	}
	if err != nil {
		return "", s.entryError(f.Name, err, true)
	}
	if len(b) > s.lim.MaxPathLen {
		return "", s.fail(bad)
	}
	return string(b), nil
}

// entryError records and returns the failure behind an error from opening
// or reading entry name: a limit already hit, the upload failing to read
// (not ErrInvalid), or else a corrupt or unsupported entry.
func (s *zipScan) entryError(name string, err error, opened bool) error {
	if s.failed != nil {
		return s.failed
	}
	if s.ra.err != nil {
		return s.fail(fmt.Errorf("archive: reading the upload: %w", s.ra.err))
	}
	switch {
	case errors.Is(err, zip.ErrAlgorithm):
		return s.fail(invalidf("archive entry %s uses an unsupported compression method (only store and deflate are allowed)", quote(name)))
	case errors.Is(err, zip.ErrChecksum):
		return s.fail(invalidf("archive is corrupt: entry %s fails its checksum", quote(name)))
	case opened && errors.Is(err, zip.ErrFormat):
		// zip's reader says this when the content outgrows the header.
		return s.fail(invalidf("archive is corrupt: entry %s holds more data than its header says", quote(name)))
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return s.fail(invalidf("archive is corrupt: entry %s is truncated or shorter than its header says", quote(name)))
	}
	return s.fail(invalidf("archive is corrupt: entry %s: %s", quote(name), decoderMessage(err)))
}

// member visits one file and then reads whatever visit left unread, so
// every file's content is checked.
func (s *zipScan) member(m zipMember, visit func(File) error) error {
	e := &zipEntry{s: s, f: m.f}
	defer e.close()
	if visit != nil {
		err := visit(File{
			Path: m.path,
			Size: int64(m.f.UncompressedSize64),
			Mode: m.f.Mode().Perm(),
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

// zipEntry is the content of one file, as handed to visit. It opens the
// entry on first read.
type zipEntry struct {
	s      *zipScan
	f      *zip.File
	rc     io.ReadCloser
	n      int64
	closed bool
}

func (e *zipEntry) Read(p []byte) (int, error) {
	if e.closed {
		return 0, errEntryClosed
	}
	return e.read(p)
}

func (e *zipEntry) read(p []byte) (int, error) {
	s := e.s
	if s.failed != nil {
		return 0, s.failed
	}
	if e.rc == nil {
		rc, err := e.f.Open()
		if err != nil {
			return 0, s.entryError(e.f.Name, err, false)
		}
		e.rc = rc
	}
	n, err := e.rc.Read(p)
	e.n += int64(n)
	s.read += int64(n)
	s.sum.UncompressedSize += int64(n)
	switch {
	case uint64(e.n) > e.f.UncompressedSize64:
		return 0, s.fail(invalidf("archive is corrupt: entry %s holds more data than its header says", quote(e.f.Name)))
	case e.n > s.lim.MaxFileSize:
		return 0, s.fail(invalidf("archive entry %s is larger than %s", quote(e.f.Name), formatSize(s.lim.MaxFileSize)))
	}
	if lerr := s.lim.tooBig(s.read, s.size); lerr != nil {
		return 0, s.fail(lerr)
	}
	if err != nil && err != io.EOF {
		return n, s.entryError(e.f.Name, err, true)
	}
	return n, err
}

func (e *zipEntry) close() {
	if e.rc != nil {
		e.rc.Close()
	}
}
