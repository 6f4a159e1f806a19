package metadata

import (
	"path"
	"sort"
	"strings"
)

// RewriteExampleSource makes an example's Terraform usable outside the archive.
//
// Examples call the module they belong to by relative path (source = "../.." or
// "../../modules/subnets"), which means nothing to someone copying the example. Every module
// block whose source resolves, from exampleDir (an archive path such as "examples/basic"), to
// the archive root becomes source = "<registryAddress>", and one that resolves into modules/
// becomes source = "<registryAddress>//modules/<name>". A version = "<version>" line follows the
// source, with the same indentation, unless the block already has a version line, which is then
// updated in place; an empty version adds none. Everything else, including comments, heredocs,
// other blocks and line endings, is left byte for byte.
//
// The rewrite is textual and handles the usual layout: the source attribute on its own line
// directly inside a top-level module block, with a plain quoted string. Anything cleverer (a
// one-line block, an interpolated source) is left as written. content is HCL (.tf), not JSON.
func RewriteExampleSource(content, exampleDir, registryAddress, version string) string {
	toks := lexHCL(content)
	var edits []edit
	var block *moduleBlock
	depth := 0
	lineStart := true
	for i, t := range toks {
		switch t.kind {
		case tokNewline:
			lineStart = true
			continue
		case tokLBrace, tokOpen:
			depth++
		case tokRBrace, tokClose:
			if depth > 0 {
				depth--
			}
			if block != nil && depth < block.depth {
				edits = append(edits, block.edits(content, exampleDir, registryAddress, version)...)
				block = nil
			}
		}
		if lineStart {
			switch {
			case block == nil && depth == 0 && t.is(content, tokIdent, "module"):
				if i+2 < len(toks) && (toks[i+1].kind == tokString || toks[i+1].kind == tokIdent) && toks[i+2].kind == tokLBrace {
					block = &moduleBlock{depth: 1}
				}
			case block != nil && depth == block.depth && t.kind == tokIdent:
				name := content[t.start:t.end]
				if name != "source" && name != "version" {
					break
				}
				if i+2 >= len(toks) || toks[i+1].kind != tokEquals || toks[i+2].kind != tokString {
					break
				}
				if i+3 < len(toks) && toks[i+3].kind != tokNewline {
					break
				}
				a := &attribute{name: t.start, value: toks[i+2], lineEnd: len(content)}
				if i+3 < len(toks) {
					a.lineEnd = toks[i+3].start
				}
				if name == "source" && block.source == nil {
					block.source = a
				} else if name == "version" && block.version == nil {
					block.version = a
				}
			}
		}
		lineStart = false
	}
	if len(edits) == 0 {
		return content
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := content
	for _, e := range edits {
		out = out[:e.start] + e.text + out[e.end:]
	}
	return out
}

// edit replaces content[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// moduleBlock is a top-level module block being scanned.
type moduleBlock struct {
	depth   int
	source  *attribute
	version *attribute
}

// attribute is a name = "string" line directly inside a module block.
type attribute struct {
	name    int   // offset of the attribute name
	value   token // the quoted string
	lineEnd int   // offset of the line's '\n', or len(content)
}

func (b *moduleBlock) edits(content, exampleDir, address, version string) []edit {
	if b.source == nil {
		return nil
	}
	raw, ok := plainString(content, b.source.value)
	if !ok {
		return nil
	}
	sub, ok := localModuleTarget(exampleDir, raw)
	if !ok {
		return nil
	}
	target := address
	if sub != "" {
		target += "//" + sub
	}

	src := b.source
	var edits []edit
	switch {
	case version == "":
		edits = append(edits, edit{src.name, src.value.end, `source = ` + hclQuote(target)})
	case b.version != nil:
		edits = append(edits,
			edit{src.name, src.value.end, `source  = ` + hclQuote(target)},
			edit{b.version.value.start, b.version.value.end, hclQuote(version)},
		)
	default:
		edits = append(edits, edit{src.name, src.value.end, `source  = ` + hclQuote(target)})
		lineBegin := strings.LastIndexByte(content[:src.name], '\n') + 1
		indent := leadingSpace(content[lineBegin:src.name])
		line := indent + `version = ` + hclQuote(version)
		if src.lineEnd >= len(content) {
			edits = append(edits, edit{len(content), len(content), "\n" + line})
		} else {
			newline := "\n"
			if src.lineEnd > 0 && content[src.lineEnd-1] == '\r' {
				newline = "\r\n"
			}
			edits = append(edits, edit{src.lineEnd + 1, src.lineEnd + 1, line + newline})
		}
	}
	return edits
}

// localModuleTarget resolves a local module source seen from exampleDir. It reports "" for the
// archive root and "modules/..." for a submodule; anything else (another example, a path
// leaving the archive, a registry or VCS source) is not a target.
func localModuleTarget(exampleDir, source string) (string, bool) {
	if !strings.HasPrefix(source, "./") && !strings.HasPrefix(source, "../") {
		return "", false
	}
	dir := strings.TrimLeft(path.Clean("/"+exampleDir), "/")
	resolved := path.Join(dir, source)
	switch {
	case resolved == ".":
		return "", true
	case strings.HasPrefix(resolved, "modules/"):
		return resolved, true
	default:
		return "", false
	}
}

// plainString returns a quoted string's value when it is a plain literal: terminated, without
// escapes or template sequences.
func plainString(content string, t token) (string, bool) {
	raw := content[t.start:t.end]
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		return "", false
	}
	v := raw[1 : len(raw)-1]
	if strings.ContainsAny(v, "\\\"") || strings.Contains(v, "${") || strings.Contains(v, "%{") {
		return "", false
	}
	return v, true
}

var hclEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`, "${", "$${", "%{", "%%{")

// hclQuote writes s as an HCL quoted string literal.
func hclQuote(s string) string {
	return `"` + hclEscaper.Replace(s) + `"`
}

func leadingSpace(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[:i]
}

// tokenKind is the little of HCL's syntax the rewrite needs to see.
type tokenKind uint8

const (
	tokOther   tokenKind = iota
	tokIdent             // identifier
	tokString            // quoted template, quotes included
	tokLBrace            // {
	tokRBrace            // }
	tokOpen              // ( or [
	tokClose             // ) or ]
	tokEquals            // a lone =
	tokNewline           // \n
)

type token struct {
	kind       tokenKind
	start, end int
}

func (t token) is(content string, kind tokenKind, text string) bool {
	return t.kind == kind && content[t.start:t.end] == text
}

// lexHCL splits HCL native syntax into tokens, dropping comments and whitespace and folding
// heredocs into single tokens, so that braces and strings inside them are not mistaken for
// structure.
func lexHCL(src string) []token {
	var toks []token
	emit := func(kind tokenKind, start, end int) { toks = append(toks, token{kind, start, end}) }
	for i := 0; i < len(src); {
		c := src[i]
		next := byte(0)
		if i+1 < len(src) {
			next = src[i+1]
		}
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '\n':
			emit(tokNewline, i, i+1)
			i++
		case c == '#' || (c == '/' && next == '/'):
			i = lineEnd(src, i)
		case c == '/' && next == '*':
			if j := strings.Index(src[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(src)
			}
		case c == '"':
			j := scanQuoted(src, i, 0)
			emit(tokString, i, j)
			i = j
		case c == '<' && next == '<':
			if j, ok := scanHeredoc(src, i); ok {
				emit(tokOther, i, j)
				i = j
			} else {
				emit(tokOther, i, i+2)
				i += 2
			}
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentPart(src[j]) {
				j++
			}
			emit(tokIdent, i, j)
			i = j
		case c == '{':
			emit(tokLBrace, i, i+1)
			i++
		case c == '}':
			emit(tokRBrace, i, i+1)
			i++
		case c == '(' || c == '[':
			emit(tokOpen, i, i+1)
			i++
		case c == ')' || c == ']':
			emit(tokClose, i, i+1)
			i++
		case c == '=' && next != '=' && next != '>':
			emit(tokEquals, i, i+1)
			i++
		case (c == '=' || c == '!' || c == '<' || c == '>') && (next == '=' || (c == '=' && next == '>')):
			emit(tokOther, i, i+2)
			i += 2
		default:
			emit(tokOther, i, i+1)
			i++
		}
	}
	return toks
}

// maxTemplateDepth stops the mutually recursive string scanners; text nested deeper is treated
// as one opaque string running to the end, which the rewrite then leaves alone.
const maxTemplateDepth = 64

// scanQuoted returns the offset just past the quoted template starting at src[i] == '"'. An
// unterminated string ends before the newline, as in HCL.
func scanQuoted(src string, i, depth int) int {
	if depth > maxTemplateDepth {
		return len(src)
	}
	j := i + 1
	for j < len(src) {
		switch c := src[j]; {
		case c == '\\':
			j += 2
		case c == '"':
			return j + 1
		case c == '\n':
			return j
		case (c == '$' || c == '%') && j+1 < len(src) && src[j+1] == '{':
			j = scanTemplateExpr(src, j+2, depth+1)
		case (c == '$' || c == '%') && j+2 < len(src) && src[j+1] == c && src[j+2] == '{':
			j += 3 // $${ and %%{ are literal text
		default:
			j++
		}
	}
	return len(src)
}

// scanTemplateExpr returns the offset just past the '}' closing a ${ or %{ sequence whose body
// starts at j.
func scanTemplateExpr(src string, j, depth int) int {
	braces := 0
	for j < len(src) {
		switch src[j] {
		case '"':
			j = scanQuoted(src, j, depth)
			continue
		case '{':
			braces++
		case '}':
			if braces == 0 {
				return j + 1
			}
			braces--
		}
		j++
	}
	return len(src)
}

// scanHeredoc recognises <<MARKER or <<-MARKER at src[i] and returns the offset of the end of
// the closing marker's line (an unterminated heredoc runs to the end).
func scanHeredoc(src string, i int) (int, bool) {
	k := i + 2
	if k < len(src) && src[k] == '-' {
		k++
	}
	if k >= len(src) || !isIdentStart(src[k]) {
		return 0, false
	}
	m := k + 1
	for m < len(src) && isIdentPart(src[m]) {
		m++
	}
	marker := src[k:m]
	rest := m
	if rest < len(src) && src[rest] == '\r' {
		rest++
	}
	if rest >= len(src) || src[rest] != '\n' {
		return 0, false
	}
	for pos := rest + 1; pos < len(src); {
		end := lineEnd(src, pos)
		if strings.TrimSpace(src[pos:end]) == marker {
			return end, true
		}
		pos = end + 1
	}
	return len(src), true
}

// lineEnd is the offset of the next '\n' at or after i, or len(src).
func lineEnd(src string, i int) int {
	if j := strings.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src)
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c == '-' || (c >= '0' && c <= '9')
}
