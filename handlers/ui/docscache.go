package ui

import (
	"context"
	"sync"

	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/modules/metadata"
)

// docsCacheSize bounds how many versions' documentation the pages keep
// decoded.
const docsCacheSize = 256

// docsCache keeps the decoded documentation (modules.Service.Docs) of
// recently shown versions. What was extracted from a version never changes
// after upload, and every page reaches a version only through
// modules.Service.Find as the viewer, so the cache holds no decision: a
// deleted or hidden version is never looked up. Entries are shared and
// read-only.
type docsCache struct {
	mu      sync.Mutex
	entries map[int64]*metadata.Module
	order   []int64 // insertion order, for eviction
}

func newDocsCache() *docsCache { return &docsCache{entries: map[int64]*metadata.Module{}} }

// docs returns v's documentation, decoding it once.
func (d *docsCache) docs(ctx context.Context, svc *modules.Service, v modules.Version) (*metadata.Module, error) {
	d.mu.Lock()
	m, ok := d.entries[v.ID]
	d.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := svc.Docs(ctx, v)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.entries[v.ID]; !ok {
		if len(d.order) >= docsCacheSize {
			delete(d.entries, d.order[0])
			d.order = d.order[1:]
		}
		d.entries[v.ID] = m
		d.order = append(d.order, v.ID)
	}
	return m, nil
}
