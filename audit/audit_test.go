package audit_test

import (
	"context"
	"testing"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testenv.Pool(t)
	type member struct{ Level int }
	var none *member
	actor := &policies.Principal{Kind: policies.User, UserID: 7, Username: "alice"}
	if err := audit.Record(ctx, pool, actor, "add", "group_member", 42, none, member{30}); err != nil {
		t.Fatal(err)
	}
	var name, action, objType, objID string
	var actorID *int64
	var oldNull bool
	var newValue string
	err := pool.QueryRow(ctx, `SELECT actor_id, actor_name, action, object_type, object_id, old_value IS NULL, new_value::text FROM audit_events`).
		Scan(&actorID, &name, &action, &objType, &objID, &oldNull, &newValue)
	if err != nil {
		t.Fatal(err)
	}
	if actorID == nil || *actorID != 7 || name != "alice" || action != "add" || objType != "group_member" || objID != "42" {
		t.Fatalf("event = %v %s %s %s %s", actorID, name, action, objType, objID)
	}
	if !oldNull {
		t.Error("a typed nil old value was stored as JSON null, want SQL NULL")
	}
	if newValue != `{"Level": 30}` {
		t.Errorf("new value = %s", newValue)
	}
}
