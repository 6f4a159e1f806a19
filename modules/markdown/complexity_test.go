package markdown

import (
	"os"
	"strings"
	"testing"
)

func TestTooComplex(t *testing.T) {
	readme, err := os.ReadFile("../metadata/testdata/fixtures/complete/README.md")
	if err != nil {
		t.Fatal(err)
	}
	nestedLists := func(depth int) string {
		var b strings.Builder
		for i := range depth {
			b.WriteString(strings.Repeat("  ", i) + "- item\n")
		}
		return b.String()
	}
	table := func(cols, rows int) string {
		return "|" + strings.Repeat("a|", cols) + "\n|" + strings.Repeat("-|", cols) + "\n" + strings.Repeat("|x\n", rows)
	}
	tests := []struct {
		name string
		src  string
		want bool
	}{
		{"real README repeated to 900 KiB", strings.Repeat(string(readme)+"\n", 900<<10/len(readme)), false},
		{"many ordinary links in one paragraph", strings.Repeat("[docs](https://example.com/docs) ", 2000), false},
		{"snake_case identifiers", strings.Repeat("enable_nat_gateway single_nat_gateway ", 20000), false},
		{"code fence full of brackets", "```json\n" + strings.Repeat("[[[[[[[[**__~~\n", 20000) + "```\n", false},
		{"inputs table", table(5, 2000), false},
		{"quotes at the limit", strings.Repeat(strings.Repeat("> ", maxQuoteDepth)+"x\n", 100), false},
		{"lists 64 deep", nestedLists(64), false},
		{"nested block quotes", strings.Repeat(">", 20000), true},
		{"unmatched emphasis", strings.Repeat("*a_", 30000), true},
		{"unclosed link destinations", strings.Repeat("[a](", 10000), true},
		{"wide table", table(maxTableColumns+1, 1), true},
		{"padded table rows", table(100, 2000), true},
		{"deeply indented lists", nestedLists(200), true},
		{"tables inside an unclosed fence are code", "~~~\n" + table(500, 1), false},
		{"backtick in the info string is no fence", "```a`\n" + strings.Repeat(">", 20000) + "\n```\n", true},
		{"text after a closing fence does not close it", "```\n```x\n```\n" + strings.Repeat("*a_", 30000), true},
		{"pipes do not split a paragraph", strings.Repeat("*a_*a_*a_*a_*a_|\n", 6000), true},
		{"lone carriage returns end lines", "x\r" + strings.Repeat(">", 20000), true},
		{"CRLF is one line ending", strings.Repeat("*a_\r\n", 100) + "|a|\r\n|-|\r\n|x|\r\n", false},
		{"longer closing fence closes", "```\nx\n`````  \n" + strings.Repeat(">", 20000), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tooComplex([]byte(tt.src)); got != tt.want {
				t.Errorf("tooComplex = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRenderFallsBackToText(t *testing.T) {
	for name, src := range map[string]string{
		"too complex": strings.Repeat(">", 20000) + "<script>alert(1)</script>",
		"too large":   strings.Repeat("a", maxSourceSize) + "<script>alert(1)</script>",
	} {
		t.Run(name, func(t *testing.T) {
			got := render(t, src)
			if !strings.HasPrefix(got, "<pre>") || strings.Contains(got, "<script") || !strings.Contains(got, "&lt;script&gt;") {
				t.Errorf("want escaped text in <pre>, got %.200s", got)
			}
		})
	}
}
