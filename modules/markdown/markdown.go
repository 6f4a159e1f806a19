// Package markdown turns module READMEs into HTML that is safe to embed in Cairn's pages.
//
// READMEs come from uploaded archives, so they are untrusted: the Markdown is rendered with
// goldmark (GitHub Flavoured Markdown, raw HTML passed through) and the result is always run
// through a bluemonday sanitizer before anyone sees it. Passing raw HTML through goldmark is only
// acceptable because of that second step; never expose the unsanitized rendering.
package markdown

import (
	"bytes"
	"fmt"
	"html/template"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
)

// converter is shared: goldmark keeps per-document state (such as heading ids) in a context it
// creates for every Convert call, so one instance serves concurrent requests.
var converter = goldmark.New(
	goldmark.WithExtensions(
		// Alignment as an align attribute, because the sanitizer drops style attributes.
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
		extension.TaskList,
	),
	goldmark.WithParserOptions(
		// Ids are derived from the heading text; repeats get "-1", "-2", ... so links such as
		// #inputs stay stable between renders of the same README.
		parser.WithAutoHeadingID(),
	),
	goldmark.WithRendererOptions(
		// Raw HTML is let through here and removed or tamed by policy below.
		html.WithUnsafe(),
	),
)

// policy is built once; a bluemonday policy is safe for concurrent use once configured.
var policy = newPolicy()

// languageClass matches the class goldmark puts on fenced code blocks (language-hcl, language-c++).
var languageClass = regexp.MustCompile(`^language-[\w+-]+$`)

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	// UGCPolicy already permits id globally; naming the headings keeps this working should that
	// default ever narrow.
	p.AllowAttrs("id").Matching(regexp.MustCompile(`^[\w:.-]+$`)).OnElements("h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("class").Matching(languageClass).OnElements("code")
	// GFM task lists render as disabled checkboxes; nothing else about inputs is allowed, and
	// without a form element they cannot submit anything.
	p.AllowAttrs("type").Matching(regexp.MustCompile(`^checkbox$`)).OnElements("input")
	p.AllowAttrs("checked", "disabled").Matching(regexp.MustCompile(`^(|checked|disabled)$`)).OnElements("input")
	// Links to other sites open in a new tab with rel="nofollow noopener"; relative links and
	// fragments keep rel="nofollow" (bluemonday only adds noopener together with target=_blank).
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// maxSourceSize is the largest README rendered as Markdown; uploads cap files at 1 MiB anyway.
const maxSourceSize = 1 << 20

// plainText shows a README that is too large or too convoluted to render as escaped text.
func plainText(src []byte) template.HTML {
	return template.HTML("<pre>" + template.HTMLEscapeString(strings.ToValidUTF8(string(src), "\uFFFD")) + "</pre>\n")
}

// Render converts a README written in Markdown into sanitized HTML for embedding in a page.
//
// Supported: GitHub Flavoured Markdown (tables with alignment, strikethrough, autolinks, task
// lists), fenced code with class="language-x", and deterministic heading ids ("readme-usage",
// "readme-inputs-1" for the second "Inputs"; every id carries IDPrefix and in-page links follow).
// Scripts, styles, iframes, event handler attributes and javascript:/data: URLs never survive,
// and images load only files of the module (relative paths): any other image is replaced by its
// alt text, so a README cannot make its readers' browsers fetch third-party URLs. A README larger than 1 MiB, or shaped to make the
// Markdown parser slow (see tooComplex), comes back as escaped text in a <pre> block instead.
// Rendering is CPU-bound; callers should render once (at upload) and store the result rather
// than render per request. It is safe for concurrent use.
func Render(src []byte) (template.HTML, error) {
	if len(src) > maxSourceSize || tooComplex(src) {
		return plainText(src), nil
	}
	var buf bytes.Buffer
	buf.Grow(len(src) + len(src)/2)
	if err := converter.Convert(src, &buf); err != nil {
		return "", fmt.Errorf("markdown: render: %w", err)
	}
	return template.HTML(rewrite(policy.SanitizeBytes(buf.Bytes()))), nil
}
