// Package pgnotify follows PostgreSQL notification channels with one
// dedicated connection, reconnecting when it is lost. It is how replicas
// keep in-memory state (policy, credential and lookup caches) current.
package pgnotify

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Handler receives the events of one subscription.
type Handler struct {
	// Connected runs after LISTEN succeeded on a new connection, before any
	// notification is delivered: notifications sent while disconnected are
	// lost, so it must resynchronise (reload, or drop caches).
	Connected func(ctx context.Context) error
	// Notify runs for each notification, in order.
	Notify func(channel, payload string)
}

// Follow listens on channels until ctx ends.
func Follow(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger, channels []string, h Handler) {
	for ctx.Err() == nil {
		err := follow(ctx, pool, channels, h)
		if ctx.Err() != nil {
			return
		}
		log.Warn("notification listener lost its connection; reconnecting", "channels", channels, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func follow(ctx context.Context, pool *pgxpool.Pool, channels []string, h Handler) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	fail := func(err error) error {
		// Never hand a connection in LISTEN state back to the pool.
		conn.Conn().Close(context.Background())
		return err
	}
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fail(err)
		}
	}
	if h.Connected != nil {
		if err := h.Connected(ctx); err != nil {
			return fail(err)
		}
	}
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return fail(err)
		}
		if h.Notify != nil {
			h.Notify(n.Channel, n.Payload)
		}
	}
}
