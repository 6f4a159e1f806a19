// Package static embeds the stylesheets and scripts the pages load, vendored
// at pinned versions so the server needs nothing from the network.
package static

import "embed"

// FS holds every file in this directory.
//
//go:embed *.css
var FS embed.FS
