// Package paging reads the list arguments and writes the paging block that
// the registry protocol's lists and Terrareg's share (offset, limit,
// provider, namespace, verified, trusted_namespaces, contributed,
// include_count; meta.next_offset ...). It is wire vocabulary common to
// two surfaces, not a surface.
package paging

import (
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/modules"
)

// Args reads the paging and filter arguments: offset, limit (default def,
// at most max), provider and namespace (repeatable), verified, and
// Terrareg's trusted_namespaces, contributed and include_count. It returns
// the message of a 400 when one is malformed.
func Args(c *gin.Context, def, max int) (modules.SearchQuery, string) {
	q := modules.SearchQuery{Offset: 0, Limit: def, Providers: c.QueryArray("provider"), Namespaces: c.QueryArray("namespace")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if s, ok := c.GetQuery(p.name); ok {
			n, err := strconv.Atoi(s)
			if err != nil {
				return q, p.name + " must be an integer"
			}
			*p.dst = n
		}
	}
	q.Limit = min(q.Limit, max)
	verified, msg := Bool(c, "verified")
	if msg != "" {
		return q, msg
	}
	q.Verified = verified != nil && *verified
	if q.Trusted, msg = Bool(c, "trusted_namespaces"); msg != "" {
		return q, msg
	}
	if q.Contributed, msg = Bool(c, "contributed"); msg != "" {
		return q, msg
	}
	withTotal, msg := Bool(c, "include_count")
	if msg != "" {
		return q, msg
	}
	q.WithTotal = withTotal != nil && *withTotal
	return q, ""
}

// Bool reads an optional boolean argument.
func Bool(c *gin.Context, name string) (*bool, string) {
	s, ok := c.GetQuery(name)
	if !ok || s == "" {
		return nil, ""
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, name + " must be true or false"
	}
	return &b, ""
}

// Meta is the paging block of list answers: limit, current_offset,
// next_offset when another page follows, prev_offset past the first. With
// urls, also the registry's next_url and prev_url (this request's path and
// arguments with the other offset).
func Meta(c *gin.Context, p modules.Page, urls bool) gin.H {
	meta := gin.H{"limit": p.Limit, "current_offset": p.Offset}
	pageURL := func(offset int) string {
		args := c.Request.URL.Query()
		args.Set("offset", strconv.Itoa(offset))
		args.Set("limit", strconv.Itoa(p.Limit))
		return (&url.URL{Path: c.Request.URL.Path, RawQuery: args.Encode()}).String()
	}
	if p.More {
		meta["next_offset"] = p.Offset + p.Limit
		if urls {
			meta["next_url"] = pageURL(p.Offset + p.Limit)
		}
	}
	if p.Offset > 0 {
		prev := max(p.Offset-p.Limit, 0)
		meta["prev_offset"] = prev
		if urls {
			meta["prev_url"] = pageURL(prev)
		}
	}
	return meta
}

// JSONAPIPage reads JSON:API's page[number] (from 1) and page[size]
// (default def, at most 100), as the TFE API and Terrareg's v2 lists take
// them; a missing or malformed value is its default.
func JSONAPIPage(c *gin.Context, def int) (number, size int) {
	number, _ = strconv.Atoi(c.Query("page[number]"))
	size, _ = strconv.Atoi(c.Query("page[size]"))
	if number < 1 {
		number = 1
	}
	if size < 1 {
		size = def
	}
	return number, min(size, 100)
}

// Slice returns the items of page number (from 1) of size items each; a
// page past the end is empty.
func Slice[T any](all []T, number, size int) []T {
	if size < 1 || number < 1 || number-1 > len(all)/size {
		return all[len(all):]
	}
	from := (number - 1) * size // at most len(all): no overflow
	return all[from:min(from+size, len(all))]
}
