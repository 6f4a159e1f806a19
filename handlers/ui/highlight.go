package ui

import (
	"html"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
)

// maxHighlight is the largest file highlighted; larger ones are shown
// plain (escaped), keeping a page's cost bounded.
const maxHighlight = 256 << 10

// highlighter renders example files as HTML with classes (no inline
// styles: the Content-Security-Policy allows none); the colours are in
// cairn.css.
type highlighter struct {
	formatter *chromahtml.Formatter
	style     *chroma.Style
}

func newHighlighter() *highlighter {
	return &highlighter{formatter: chromahtml.New(chromahtml.WithClasses(true), chromahtml.TabWidth(2)), style: styles.Get("github")}
}

// html is name's content highlighted by the lexer its name implies, or an
// escaped <pre> when none applies or highlighting fails.
func (h *highlighter) html(name, content string) string {
	plain := `<pre class="chroma"><code>` + html.EscapeString(content) + `</code></pre>`
	if len(content) > maxHighlight {
		return plain
	}
	lexer := lexers.Match(name)
	if lexer == nil && (strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tfvars")) {
		lexer = lexers.Get("hcl")
	}
	if lexer == nil {
		return plain
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, content)
	if err != nil {
		return plain
	}
	var b strings.Builder
	if err := h.formatter.Format(&b, h.style, it); err != nil {
		return plain
	}
	return b.String()
}
