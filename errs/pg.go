package errs

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL error classes Cairn reacts to.
const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
)

// IsUnique reports whether err is a unique-constraint violation.
func IsUnique(err error) bool { return sqlstate(err) == sqlstateUniqueViolation }

// IsForeignKey reports whether err is a foreign-key violation.
func IsForeignKey(err error) bool { return sqlstate(err) == sqlstateForeignKeyViolation }

// IsCheck reports whether err is a check-constraint violation.
func IsCheck(err error) bool { return sqlstate(err) == sqlstateCheckViolation }

// IsNoRows reports whether err is a query that found no row.
func IsNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func sqlstate(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// OnUnique turns a unique violation into a conflict about field with the
// given message; other errors pass through.
func OnUnique(err error, field, format string, args ...any) error {
	if IsUnique(err) {
		return &Error{Kind: Conflict, Field: field, Msg: sprintf(format, args...), Err: err}
	}
	return err
}

// DB classifies a database error: no rows → not found, unique → conflict,
// foreign key and check violations → invalid, lost connections →
// unavailable; anything else stays internal.
func DB(err error) error {
	switch {
	case err == nil:
		return nil
	case IsNoRows(err):
		return &Error{Kind: NotFound, Msg: "not found", Err: err}
	case IsUnique(err):
		return &Error{Kind: Conflict, Msg: "already exists", Err: err}
	case IsForeignKey(err), IsCheck(err):
		return &Error{Kind: Invalid, Msg: "refers to something that does not exist or breaks a rule", Err: err}
	case dbUnavailable(err):
		return &Error{Kind: Unavailable, Msg: "the database is unavailable", Err: err}
	}
	return err
}

// dbUnavailable reports failures to reach PostgreSQL (as opposed to errors
// PostgreSQL answered with): refused or broken connections, pool
// acquisition timeouts, a server shutting down.
func dbUnavailable(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08 (connection exception), 57P01..57P03 (admin shutdown,
		// crash shutdown, cannot connect now).
		return len(pg.Code) == 5 && (pg.Code[:2] == "08" || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03")
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}
