// Package static embeds the stylesheets and scripts the pages load, vendored
// at pinned versions (htmx 2.0.11 from the npm registry, with its licence)
// so the server needs nothing from the network and pages load nothing from
// a third-party origin. Files are served under content-hashed names
// (/static/cairn.<hash>.css) with a year-long immutable cache; the plain
// name is served too, revalidated on every use.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// FS holds every file in this directory.
//
//go:embed *.css *.js *.txt *.svg
var FS embed.FS

// hashed maps a file's content-hashed name to its name, and names back.
var hashed, urls = index()

func index() (map[string]string, map[string]string) {
	byHash, byName := map[string]string{}, map[string]string{}
	entries, _ := fs.ReadDir(FS, ".")
	for _, e := range entries {
		b, err := FS.ReadFile(e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(e.Name())
		h := strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		byHash[h] = e.Name()
		byName[e.Name()] = "/static/" + h
	}
	return byHash, byName
}

// URL is the content-hashed URL of name ("/static/<name>" if unknown).
func URL(name string) string {
	if u, ok := urls[name]; ok {
		return u
	}
	return "/static/" + name
}

// Handler serves the files below /static/: hashed names immutable for a
// year, plain names revalidated.
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if orig, ok := hashed[name]; ok {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + orig
			files.ServeHTTP(w, r2)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		files.ServeHTTP(w, r2)
	})
}
