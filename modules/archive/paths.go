package archive

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// kind is what an entry is, once its type has been accepted.
type kind uint8

const (
	kindFile kind = iota + 1
	kindDir
	kindSymlink
)

// tree checks entry names as they arrive: count, shape, duplicates, and at
// the end (finish) that nothing lies inside a file or a symbolic link and
// that no symbolic link leads outside the module through other links.
type tree struct {
	lim     Limits
	entries int
	seen    map[string]kind
	links   map[string]*link // symbolic links by cleaned path
}

func newTree(lim Limits) *tree {
	return &tree{lim: lim, seen: make(map[string]kind), links: make(map[string]*link)}
}

// add checks one entry and returns its cleaned path; it returns "" and no
// error for the root directory ("./"), which callers skip. target is the
// link target of a symbolic link.
func (t *tree) add(name string, k kind, target string) (string, error) {
	t.entries++
	if t.entries > t.lim.MaxEntries {
		return "", invalidf("archive has more than %d entries", t.lim.MaxEntries)
	}
	p, err := cleanName(name, t.lim)
	if err != nil {
		return "", err
	}
	if p == "" {
		if k == kindDir {
			return "", nil
		}
		return "", invalidf("archive entry %s has an empty name", quote(name))
	}
	if k == kindSymlink {
		if err := checkLinkTarget(name, p, target, t.lim); err != nil {
			return "", err
		}
	}
	if prev, ok := t.seen[p]; ok {
		if prev == kindDir && k == kindDir {
			return p, nil // tar tools repeat directories; harmless
		}
		return "", invalidf("archive contains %s more than once", quote(p))
	}
	t.seen[p] = k
	if k == kindSymlink {
		t.links[p] = &link{name: name, target: target}
	}
	return p, nil
}

// finish rejects an entry inside a path that is a file or a symbolic link
// ("a" is a file and "a/b" exists): extracting it would fail, or write
// through the link. Sorting with "/" as the lowest byte puts every entry
// right after the one it would be inside.
func (t *tree) finish() error {
	type entry struct {
		key string
		k   kind
	}
	all := make([]entry, 0, len(t.seen))
	for p, k := range t.seen {
		all = append(all, entry{strings.ReplaceAll(p, "/", "\x00"), k}) // names never hold NUL
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for i := 0; i+1 < len(all); i++ {
		if all[i].k == kindDir || !strings.HasPrefix(all[i+1].key, all[i].key+"\x00") {
			continue
		}
		what := "a file"
		if all[i].k == kindSymlink {
			what = "a symbolic link"
		}
		inner := strings.ReplaceAll(all[i+1].key, "\x00", "/")
		outer := strings.ReplaceAll(all[i].key, "\x00", "/")
		return invalidf("archive entry %s is inside %s, which is %s", quote(inner), quote(outer), what)
	}
	return t.resolveLinks()
}

// cleanName turns an entry name into a clean relative slash-separated path,
// or says why it cannot be one. Backslashes count as separators in both
// formats: zip tools write them, and a tar name holding one would turn
// into a path when the module is served again as a zip.
func cleanName(name string, lim Limits) (string, error) {
	if len(name) > lim.MaxPathLen {
		return "", invalidf("archive entry %s has a path longer than %d characters", quote(name), lim.MaxPathLen)
	}
	if err := checkText(name); err != "" {
		return "", invalidf("archive entry %s %s", quote(name), err)
	}
	n := strings.ReplaceAll(name, `\`, "/")
	if isAbs(n) {
		return "", invalidf("archive entry %s has an absolute path", quote(name))
	}
	var parts []string
	for seg := range strings.SplitSeq(n, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(parts) == 0 {
				return "", invalidf("archive entry %s escapes the module root", quote(name))
			}
			parts = parts[:len(parts)-1]
		default:
			parts = append(parts, seg)
		}
	}
	if len(parts) > lim.MaxDepth {
		return "", invalidf("archive entry %s is nested more than %d levels deep", quote(name), lim.MaxDepth)
	}
	return strings.Join(parts, "/"), nil
}

// checkLinkTarget rejects a symbolic link at path p whose target leaves the
// module root read as text, with ".." removing the component before it (as
// Windows and lexical path cleaning do). Links are never followed by Cairn;
// this and resolveLinks only keep an archive that someone extracts with its
// links from pointing outside itself. This check alone is not enough where
// ".." is resolved after following links (POSIX): see resolveLinks.
func checkLinkTarget(name, p, target string, lim Limits) error {
	if target == "" || len(target) > lim.MaxPathLen || checkText(target) != "" {
		return invalidf("archive entry %s is a symbolic link with an invalid target", quote(name))
	}
	outside := invalidf("archive entry %s is a symbolic link pointing outside the module (%s)", quote(name), shorten(target))
	t := strings.ReplaceAll(target, `\`, "/")
	if isAbs(t) {
		return outside
	}
	depth := strings.Count(p, "/") // directories above the link
	for seg := range strings.SplitSeq(t, "/") {
		switch seg {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return outside
			}
		default:
			depth++
		}
	}
	return nil
}

// maxLinkDepth bounds how many other symbolic links the resolution of one
// link may go through, one inside another; Linux gives up at 40 too.
const maxLinkDepth = 40

// link is a symbolic link in the archive and, once resolveLinks has
// followed it, where it leads.
type link struct {
	name   string // the entry name, for messages
	target string // as written in the archive
	state  linkState
	to     location // valid when state is linkResolved
}

type linkState uint8

const (
	linkUnresolved linkState = iota
	linkResolving
	linkResolved
)

// location is where a link leads: path, a slash-separated path from the
// module root ("" for the root itself), and below, a number of further
// components under it. Components go into below once path would be longer
// than any entry name: no entry can lie there, so their names no longer
// matter, only how many ".." it takes to climb back. height is the length of
// the longest chain of links, one leading through the next, followed to
// get there.
type location struct {
	path   string
	below  int
	height int
}

// resolveLinks follows every symbolic link the way the kernel does once the
// archive is extracted: component by component from the link's directory,
// following each link met on the way (wherever it appears in the archive)
// before applying a later "..". It rejects a link that so leaves the module
// root, although its target reads as staying inside (checkLinkTarget has
// rejected the others): with "l -> ." in the archive, "esc -> l/l/../../x"
// is two levels up from the root. A component that is not a link counts as
// a directory, whatever it is or whether it exists, which can only make the
// check stricter. It also rejects loops and chains of more than
// maxLinkDepth links, which no extraction could follow either. Each link is
// resolved once and remembered, so the work is linear in the size of the
// targets.
func (t *tree) resolveLinks() error {
	if len(t.links) == 0 {
		return nil
	}
	// Sorted, so that the same archive always gets the same message.
	for _, p := range slices.Sorted(maps.Keys(t.links)) {
		if _, err := t.resolve(p, t.links[p], 0); err != nil {
			return err
		}
	}
	return nil
}

// resolve returns where the link l at path p leads; depth is the number of
// links being resolved around this one. A link whose chain is longer than
// maxLinkDepth is rejected however the links are named: the remembered
// height catches chains resolved from their tail, depth those resolved from
// their head (and bounds the recursion).
func (t *tree) resolve(p string, l *link, depth int) (location, error) {
	switch l.state {
	case linkResolved:
		return l.to, nil
	case linkResolving:
		return location{}, invalidf("archive entry %s is a symbolic link that leads back to itself (%s)", quote(l.name), shorten(l.target))
	}
	if depth > maxLinkDepth { // in a chain that is too long however it ends
		return location{}, errTooDeep
	}
	l.state = linkResolving
	target := strings.ReplaceAll(l.target, `\`, "/")
	if isAbs(target) { // rejected by checkLinkTarget already
		return location{}, invalidf("archive entry %s is a symbolic link pointing outside the module (%s)", quote(l.name), shorten(l.target))
	}
	// The path so far, in a buffer so that looking each step up costs no
	// allocation.
	buf := make([]byte, 0, t.lim.MaxPathLen)
	buf = append(buf, parentDir(p)...)
	below := 0
	height := 0 // the longest chain of links followed
	via := ""   // the last link followed
	for seg := range strings.SplitSeq(target, "/") {
		switch {
		case seg == "" || seg == ".":
		case seg == "..":
			switch {
			case below > 0:
				below--
			case len(buf) == 0:
				if via == "" { // rejected by checkLinkTarget already
					return location{}, invalidf("archive entry %s is a symbolic link pointing outside the module (%s)", quote(l.name), shorten(l.target))
				}
				return location{}, invalidf("archive entry %s is a symbolic link pointing outside the module through the symbolic link %s (%s)",
					quote(l.name), quote(via), shorten(l.target))
			default:
				buf = buf[:max(bytes.LastIndexByte(buf, '/'), 0)]
			}
		case below > 0 || len(buf)+1+len(seg) > t.lim.MaxPathLen:
			below++
		default:
			if len(buf) > 0 {
				buf = append(buf, '/')
			}
			buf = append(buf, seg...)
			next, ok := t.links[string(buf)]
			if !ok {
				continue
			}
			to, err := t.resolve(string(buf), next, depth+1)
			if err == errTooDeep || err == nil && to.height >= maxLinkDepth {
				if depth > 0 {
					return location{}, errTooDeep
				}
				err = invalidf("archive entry %s is a symbolic link through more than %d other symbolic links", quote(l.name), maxLinkDepth)
			}
			if err != nil {
				return location{}, err
			}
			via = string(buf)
			buf = append(buf[:0], to.path...)
			below = to.below
			height = max(height, to.height+1)
		}
	}
	l.state = linkResolved
	l.to = location{path: string(buf), below: below, height: height}
	return l.to, nil
}

// errTooDeep is passed up from a link too far down a chain to the link at
// its head, which the message names.
var errTooDeep = invalidf("symbolic links nested too deeply")

// parentDir is the directory holding the entry at p, "" for the root.
func parentDir(p string) string {
	return p[:max(strings.LastIndexByte(p, '/'), 0)]
}

// checkText rejects names no module file has and that confuse tools and
// logs: NUL bytes, invalid UTF-8 and control characters.
func checkText(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL byte"
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "contains a control character"
	}
	return ""
}

// isAbs reports a path rooted anywhere: "/x", "//host/share" (from
// backslashes) or a Windows drive ("C:/x", "C:x").
func isAbs(p string) bool {
	if strings.HasPrefix(p, "/") {
		return true
	}
	return len(p) >= 2 && p[1] == ':' && (p[0] >= 'a' && p[0] <= 'z' || p[0] >= 'A' && p[0] <= 'Z')
}

// shorten cuts a string that has passed checkText for a message.
func shorten(s string) string {
	const maxLen = 100
	if len(s) <= maxLen {
		return s
	}
	cut := maxLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
