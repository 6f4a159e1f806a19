package archive

import (
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
// the end (finish) that nothing lies inside a file or a symbolic link.
type tree struct {
	lim     Limits
	entries int
	seen    map[string]kind
}

func newTree(lim Limits) *tree {
	return &tree{lim: lim, seen: make(map[string]kind)}
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
	return nil
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
// module root. Links are never followed; this only keeps an archive that
// someone extracts with its links from pointing outside itself.
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
