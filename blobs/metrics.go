package blobs

import (
	"context"
	"errors"
	"io"
	"time"
)

// Observer is told how long each operation ("put", "get", "stat",
// "delete") took and how it ended. A missing object (ErrNotFound) is
// reported as success: it is an answer, not a failure of the store.
type Observer func(op string, d time.Duration, err error)

// Observed wraps s so that every Put, Get, Stat and Delete is reported to
// observe; PresignGet and Ping pass straight through. A nil observe
// returns s itself.
func Observed(s Store, observe Observer) Store {
	if observe == nil {
		return s
	}
	return &observed{Store: s, observe: observe}
}

type observed struct {
	Store
	observe Observer
}

func (o *observed) report(op string, start time.Time, err error) {
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	o.observe(op, time.Since(start), err)
}

func (o *observed) Put(ctx context.Context, key string, r io.Reader, opt PutOptions) (Info, error) {
	start := time.Now()
	info, err := o.Store.Put(ctx, key, r, opt)
	o.report("put", start, err)
	return info, err
}

func (o *observed) Get(ctx context.Context, key string) (Object, Info, error) {
	start := time.Now()
	obj, info, err := o.Store.Get(ctx, key)
	o.report("get", start, err)
	return obj, info, err
}

func (o *observed) Stat(ctx context.Context, key string) (Info, error) {
	start := time.Now()
	info, err := o.Store.Stat(ctx, key)
	o.report("stat", start, err)
	return info, err
}

func (o *observed) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := o.Store.Delete(ctx, key)
	o.report("delete", start, err)
	return err
}
