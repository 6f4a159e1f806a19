// Package audit records who changed what: every change to users, groups,
// projects, memberships, tokens and trust rules writes one event, in the
// same transaction as the change.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Record writes one event. old and new are marshalled to JSON (nil → NULL);
// never pass secrets.
func Record(ctx context.Context, db queries.DBTX, actor *policies.Principal, action, objectType string, objectID any, old, new any) error {
	var actorID *int64
	if actor != nil && actor.Kind == policies.User {
		id := actor.UserID
		actorID = &id
	}
	name := "system"
	if actor != nil {
		name = actor.Name()
	}
	oldJSON, err := marshal(old)
	if err != nil {
		return err
	}
	newJSON, err := marshal(new)
	if err != nil {
		return err
	}
	return queries.New(db).InsertAuditEvent(ctx, queries.InsertAuditEventParams{
		ActorID:    actorID,
		ActorName:  name,
		Action:     action,
		ObjectType: objectType,
		ObjectID:   fmt.Sprint(objectID),
		OldValue:   oldJSON,
		NewValue:   newJSON,
	})
}

func marshal(v any) (json.RawMessage, error) {
	// A typed nil pointer (e.g. "no previous member") is "no value" too.
	if rv := reflect.ValueOf(v); v == nil || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return b, nil
}
