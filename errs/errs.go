// Package errs is Cairn's one error model. Every domain package returns
// errors of a few kinds (invalid, not found, forbidden, unauthenticated,
// conflict, too large, unavailable) with an optional field and a neutral,
// human message; each HTTP surface maps kinds to its own wire format in one
// place (its errors.go). PostgreSQL failures are classified here, once, by
// SQLSTATE and connection state.
package errs

import (
	"errors"
	"fmt"
)

// Kind says what went wrong, independently of any wire format.
type Kind int

// Kinds. Internal is anything unclassified: its message is never shown.
const (
	Internal Kind = iota
	Invalid
	NotFound
	Forbidden
	Unauthenticated
	Conflict
	TooLarge
	Unavailable
)

var kindNames = [...]string{"internal", "invalid", "not found", "forbidden", "unauthenticated", "conflict", "too large", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a domain error: a kind, the request field it concerns (if any),
// a message a person understands, and the underlying cause (for logs).
type Error struct {
	Kind  Kind
	Field string
	Msg   string
	Err   error
	// sentinel marks the per-kind values errors.Is compares against.
	sentinel bool
}

func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Kind.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the sentinel of e's kind (errors.Is(err, errs.ErrNotFound)).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.sentinel && t.Kind == e.Kind
}

// Sentinels, one per kind, for errors.Is.
var (
	ErrInvalid         = sentinel(Invalid)
	ErrNotFound        = sentinel(NotFound)
	ErrForbidden       = sentinel(Forbidden)
	ErrUnauthenticated = sentinel(Unauthenticated)
	ErrConflict        = sentinel(Conflict)
	ErrTooLarge        = sentinel(TooLarge)
	ErrUnavailable     = sentinel(Unavailable)
)

func sentinel(k Kind) *Error { return &Error{Kind: k, sentinel: true} }

// E builds an error of kind k with a formatted message.
func E(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// Field builds an error of kind k about one request field.
func Field(k Kind, field, format string, args ...any) error {
	return &Error{Kind: k, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Invalidf is E(Invalid, ...).
func Invalidf(format string, args ...any) error { return E(Invalid, format, args...) }

// Conflictf is E(Conflict, ...).
func Conflictf(format string, args ...any) error { return E(Conflict, format, args...) }

// Wrap gives err a kind and message, keeping it as the cause.
func Wrap(k Kind, err error, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...), Err: err}
}

// KindOf classifies err: the kind of the first *Error in its chain, else
// Unavailable for database connection failures, else Internal.
func KindOf(err error) Kind {
	if err == nil {
		return Internal
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if dbUnavailable(err) {
		return Unavailable
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// Message is the human message of err's first *Error ("" when none, or
// when the error is internal: internal details are never shown).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Msg
	}
	return ""
}

// FieldOf is the field err concerns, "" when none.
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
