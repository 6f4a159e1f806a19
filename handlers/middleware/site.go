package middleware

import (
	"net/url"
	"strings"
)

// Site is the public URL, parsed once, and what surfaces derive from it.
type Site struct {
	// URL is the public base URL without a trailing slash.
	URL string
	// Origin is the URL's scheme and host, the base of absolute links.
	Origin string
	// Host is the URL's host[:port], the registry host of module addresses.
	Host string
	// TerraformHost is Host as terraform accepts it in a module source: a
	// registry host name needs a dot, so localhost becomes 127.0.0.1.
	TerraformHost string
}

// NewSite parses the public URL.
func NewSite(publicURL string) Site {
	s := Site{URL: strings.TrimRight(publicURL, "/")}
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		s.Host = strings.TrimPrefix(strings.TrimPrefix(s.URL, "https://"), "http://")
		s.Origin = s.URL
	} else {
		s.Host = u.Host
		s.Origin = u.Scheme + "://" + u.Host
	}
	s.TerraformHost = s.Host
	if h := strings.SplitN(s.Host, ":", 2); h[0] == "localhost" {
		s.TerraformHost = strings.Replace(s.Host, "localhost", "127.0.0.1", 1)
	}
	return s
}
