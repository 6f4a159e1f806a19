package audit

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Service reads the audit history.
type Service struct {
	db    *pgxpool.Pool
	authz *policies.Authorizer
}

// New returns the audit history reader.
func New(db *pgxpool.Pool, authz *policies.Authorizer) *Service {
	return &Service{db: db, authz: authz}
}

// Query selects a page of the audit history.
type Query struct {
	Offset, Limit int
	// Search keeps events whose actor, action, object ("type:id") or values
	// contain it, ignoring case.
	Search string
	// Actor, Action and ObjectType keep events whose actor name, action or
	// object type equals them, ignoring case ("" matches all).
	Actor, Action, ObjectType string
	// Since and Until keep events recorded at or after Since and before
	// Until (zero: unbounded).
	Since, Until time.Time
	// OldestFirst reverses the default, newest first.
	OldestFirst bool
}

// Page is a page of audit events with the counts a data table shows.
type Page struct {
	Events []Event
	// Total counts every event; Filtered those matching the search and
	// filters.
	Total, Filtered int64
}

// Event is one recorded change.
type Event struct {
	ID         int64
	Time       time.Time
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	// OldValue and NewValue are the JSON recorded, nil when none.
	OldValue, NewValue json.RawMessage
}

// MaxPage bounds one page of the audit history.
const MaxPage = 1000

// List returns a page of the audit history (site admin).
func (s *Service) List(ctx context.Context, p *policies.Principal, aq Query) (Page, error) {
	if err := s.authz.CheckInstance(p, policies.AdminInstance); err != nil {
		return Page{}, err
	}
	if aq.Offset < 0 || aq.Offset > 1<<30 {
		return Page{}, errs.Invalidf("start must be between 0 and %d", 1<<30)
	}
	if aq.Limit < 1 || aq.Limit > MaxPage {
		return Page{}, errs.Invalidf("length must be between 1 and %d", MaxPage)
	}
	if !aq.Since.IsZero() && !aq.Until.IsZero() && aq.Until.Before(aq.Since) {
		return Page{}, errs.Field(errs.Invalid, "until", "the end of the date range is before its start")
	}
	f := queries.CountAuditEventsFilteredParams{Search: text(aq.Search), Actor: text(aq.Actor), Action: text(aq.Action),
		ObjectType: text(aq.ObjectType), Since: instant(aq.Since), Until: instant(aq.Until)}
	filtered := f != queries.CountAuditEventsFilteredParams{}
	var page Page
	// One snapshot, so the counts and the page agree.
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := queries.New(tx)
		var err error
		if page.Total, err = q.CountAuditEvents(ctx); err != nil {
			return err
		}
		if page.Filtered = page.Total; filtered {
			if page.Filtered, err = q.CountAuditEventsFiltered(ctx, f); err != nil {
				return err
			}
		}
		var rows []queries.AuditEvent
		if aq.OldestFirst {
			rows, err = q.FilterAuditEventsOldestFirst(ctx, queries.FilterAuditEventsOldestFirstParams{Search: f.Search, Actor: f.Actor, Action: f.Action,
				ObjectType: f.ObjectType, Since: f.Since, Until: f.Until, Off: int32(aq.Offset), Lim: int32(aq.Limit)})
		} else {
			rows, err = q.FilterAuditEventsNewestFirst(ctx, queries.FilterAuditEventsNewestFirstParams{Search: f.Search, Actor: f.Actor, Action: f.Action,
				ObjectType: f.ObjectType, Since: f.Since, Until: f.Until, Off: int32(aq.Offset), Lim: int32(aq.Limit)})
		}
		if err != nil {
			return err
		}
		page.Events = make([]Event, 0, len(rows))
		for _, e := range rows {
			page.Events = append(page.Events, Event{ID: e.ID, Time: e.CreatedAt, Actor: e.ActorName, Action: e.Action,
				ObjectType: e.ObjectType, ObjectID: e.ObjectID, OldValue: e.OldValue, NewValue: e.NewValue})
		}
		return nil
	})
	return page, err
}

// text is a filter's argument: nil (match all) when empty.
func text(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// instant is a time filter's argument: nil (unbounded) when zero.
func instant(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
