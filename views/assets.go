package views

import "github.com/cairn-registry/cairn/static"

// Asset is the content-hashed URL of a static file, cacheable for a year.
func Asset(name string) string { return static.URL(name) }
