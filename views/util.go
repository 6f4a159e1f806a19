package views

import (
	"strconv"
	"strings"

	"github.com/cairn-registry/cairn/modules/metadata"
)

func itoa(n int) string { return strconv.Itoa(n) }

func requiredFirst(ins []metadata.Input) []metadata.Input {
	out := make([]metadata.Input, 0, len(ins))
	for _, in := range ins {
		if in.Required {
			out = append(out, in)
		}
	}
	for _, in := range ins {
		if !in.Required {
			out = append(out, in)
		}
	}
	return out
}

func resourceAddress(r metadata.Resource) string {
	if r.Mode == "data" {
		return "data." + r.Type + "." + r.Name
	}
	return r.Type + "." + r.Name
}

// PlainText drops Markdown's emphasis and code marks from a description
// taken from a README's first line of prose; it is shown as text.
var PlainText = strings.NewReplacer("**", "", "__", "", "`", "").Replace
