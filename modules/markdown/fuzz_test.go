package markdown

import (
	"html"
	"os"
	"regexp"
	"strings"
	"testing"
)

// tagPattern matches one tag as the sanitizer writes it: lower-case names,
// every attribute value double-quoted.
var (
	tagPattern  = regexp.MustCompile(`^<(/?)([a-z][a-z0-9]*)((?:\s+[a-z][a-z-]*(?:="[^"<>]*")?)*)\s*/?>`)
	attrPattern = regexp.MustCompile(`\s+([a-z][a-z-]*)(?:="([^"]*)")?`)
)

// forbiddenElements never survive the sanitizer, whatever the README holds.
var forbiddenElements = map[string]bool{
	"script": true, "style": true, "iframe": true, "frame": true, "frameset": true, "object": true, "embed": true,
	"applet": true, "form": true, "button": true, "select": true, "textarea": true, "svg": true, "math": true,
	"base": true, "link": true, "meta": true, "template": true, "noscript": true, "title": true,
}

// urlAttributes hold URLs, which must be relative or use an allowed scheme.
var urlAttributes = map[string]bool{
	"href": true, "src": true, "cite": true, "action": true, "formaction": true, "background": true,
	"poster": true, "longdesc": true, "usemap": true, "srcset": true, "data": true, "codebase": true,
}

// urlScheme is the scheme of a URL with whitespace and control characters
// removed (browsers skip them), "" for a relative URL.
func urlScheme(raw string) string {
	u := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, html.UnescapeString(raw))
	i := strings.IndexAny(u, ":/?#")
	if i < 0 || u[i] != ':' {
		return ""
	}
	return strings.ToLower(u[:i])
}

// checkSafe checks sanitized HTML for anything that could run script,
// style the page or escape the policy set in newPolicy.
func checkSafe(t *testing.T, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	if strings.Contains(lower, "<script") || strings.Contains(lower, "<!--") || strings.Contains(lower, "<!") || strings.Contains(lower, "<?") {
		t.Errorf("output holds a script, comment, doctype or processing instruction:\n%s", out)
	}
	for rest := out; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		rest = rest[i:]
		m := tagPattern.FindStringSubmatch(rest)
		if m == nil {
			t.Errorf("output holds a '<' that starts no well-formed tag: %q", rest[:min(len(rest), 80)])
			return
		}
		rest = rest[len(m[0]):]
		closing, name, attrs := m[1] == "/", m[2], m[3]
		if forbiddenElements[name] {
			t.Errorf("output holds a <%s> element:\n%s", name, out)
		}
		if closing {
			if attrs != "" {
				t.Errorf("closing tag with attributes: %q", m[0])
			}
			continue
		}
		values := map[string]string{}
		for _, a := range attrPattern.FindAllStringSubmatch(attrs, -1) {
			attr, value := a[1], a[2]
			values[attr] = value
			switch {
			case strings.HasPrefix(attr, "on"), attr == "style", attr == "srcdoc":
				t.Errorf("tag %q keeps the attribute %s", m[0], attr)
			case urlAttributes[attr]:
				switch scheme := urlScheme(value); scheme {
				case "", "http", "https", "mailto":
				default:
					t.Errorf("tag %q has a %s: URL", m[0], scheme)
				}
			case attr == "class":
				if name != "code" || !languageClass.MatchString(value) {
					t.Errorf("tag %q keeps a class outside the policy", m[0])
				}
			case attr == "type" && name == "input":
				if value != "checkbox" {
					t.Errorf("tag %q is an input other than a checkbox", m[0])
				}
			case attr == "target":
				if value != "_blank" {
					t.Errorf("tag %q has a target other than _blank", m[0])
				}
			}
		}
		if id, ok := values["id"]; ok && !strings.HasPrefix(id, "readme-") {
			t.Errorf("tag %q has an id without the readme- prefix", m[0])
		}
		if name == "img" {
			src := strings.Map(func(r rune) rune {
				if r <= ' ' || r == 0x7f {
					return -1
				}
				return r
			}, html.UnescapeString(values["src"]))
			if src == "" || urlScheme(values["src"]) != "" || strings.HasPrefix(src, "/") || strings.HasPrefix(src, "\\") {
				t.Errorf("image %q does not load a file of the module", m[0])
			}
		}
		if name == "a" && values["href"] != "" && !strings.Contains(" "+values["rel"]+" ", " nofollow ") {
			t.Errorf("link %q lacks rel=nofollow", m[0])
		}
		if values["target"] != "" && !strings.Contains(" "+values["rel"]+" ", " noopener ") {
			t.Errorf("link %q opens a new tab without rel=noopener", m[0])
		}
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"# Usage\n\n## Inputs\n\n## Inputs\n",
		"| Name | Required |\n|:-----|:--------:|\n| `vpc_cidr` | yes |\n",
		"```hcl\nmodule \"vpc\" {\n  source = \"acme/vpc/aws\"\n}\n```\n",
		"- [x] done\n- [ ] todo\n\n~~old~~ See https://registry.example.com/docs and www.example.com.\n",
		"[x](javascript:alert(1)) [y](JaVa&#x09;ScRiPt:alert(2)) <javascript:alert(3)> ![i](data:image/svg+xml,<svg onload=alert(4)>)\n",
		"<a href=\"jav&#x0A;ascript:alert(1)\" onclick=\"x()\">a</a><img src=x onerror=alert(1)><p style=\"x\" class=\"language-x\">p</p>\n",
		"<svg><script>alert(4)</script></svg><iframe srcdoc=\"<script>\"></iframe><form action=\"https://evil.example\"><input type=\"text\"></form>\n",
		"```hcl\" onmouseover=\"x\nz\n```\n<!-- comment --><![CDATA[x]]><?php ?>\n",
		"Never use javascript: URLs; a <b>bold</b> *claim* and _emphasis_ with a [ref].\n\n[ref]: https://example.com \"title\"\n",
		strings.Repeat("> ", 40) + "deep\n" + strings.Repeat("[", 100) + "\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../metadata/testdata/fixtures/hostile/README.md"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := Render(src)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		checkSafe(t, string(out))
		again, err := Render(src)
		if err != nil || again != out {
			t.Errorf("rendering twice gave different HTML: %v", err)
		}
	})
}
