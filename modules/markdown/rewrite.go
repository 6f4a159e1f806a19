package markdown

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// IDPrefix starts every id in rendered READMEs. A README is embedded in a page that has its own
// ids and scripts; an unprefixed id="config" would become window.config (DOM clobbering) or
// shadow an element of the page. In-page links (href="#x") are rewritten to match.
const IDPrefix = "readme-"

// Version identifies the rendering rules. HTML stored by another Version (see
// metadata.Module.ReadmeHTMLVersion) is rendered again before it is served.
//
//	1: goldmark + bluemonday (ids as goldmark made them, every image kept)
//	2: ids prefixed with IDPrefix, images other than files of the module dropped
const Version = 2

// rewrite applies the rules bluemonday cannot express to sanitized HTML: ids (and the fragment
// links and table headers that name them) get IDPrefix, and an <img> that would load anything
// but a file of the module becomes its alt text. Tokens left unchanged are copied byte for byte.
func rewrite(sanitized []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(sanitized) + len(sanitized)/16)
	z := html.NewTokenizer(bytes.NewReader(sanitized))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			// io.EOF: reading from memory fails no other way. Anything not yet tokenized
			// (nothing, for bluemonday's output) is dropped rather than copied unchecked.
			return out.Bytes()
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			out.Write(z.Raw())
			continue
		}
		raw := append([]byte(nil), z.Raw()...)
		tok := z.Token()
		if tok.Data == "img" && !moduleImage(attr(tok, "src")) {
			out.WriteString(html.EscapeString(attr(tok, "alt")))
			continue
		}
		changed := false
		for i, a := range tok.Attr {
			if a.Namespace != "" {
				continue
			}
			switch {
			case a.Key == "id":
				tok.Attr[i].Val = IDPrefix + a.Val
			case a.Key == "headers":
				fields := strings.Fields(a.Val)
				for j, f := range fields {
					fields[j] = IDPrefix + f
				}
				tok.Attr[i].Val = strings.Join(fields, " ")
			case a.Key == "href" && (tok.Data == "a" || tok.Data == "area") && len(a.Val) > 1 && a.Val[0] == '#':
				tok.Attr[i].Val = "#" + IDPrefix + a.Val[1:]
			default:
				continue
			}
			changed = true
		}
		if changed {
			out.WriteString(tok.String())
		} else {
			out.Write(raw)
		}
	}
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// moduleImage reports whether an image source (attribute value, unescaped) is a relative path,
// that is a file of the module as the README's page resolves it: not an absolute URL (any
// scheme: http:, data:, ...), not protocol-relative (//host, \\host) and not site-absolute
// (/path). Browsers skip tabs and newlines anywhere in a URL and trim spaces and control
// characters around it, so the check does too.
func moduleImage(src string) bool {
	src = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, src)
	src = strings.TrimFunc(src, func(r rune) bool { return r <= ' ' })
	if src == "" || src[0] == '/' || src[0] == '\\' {
		return false
	}
	// A colon before the first '/', '\', '?' or '#' ends a scheme.
	i := strings.IndexAny(src, `:/\?#`)
	return i < 0 || src[i] != ':'
}
