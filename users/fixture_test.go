package users_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/users"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the users service with the tenancy tree and audit history it
// works beside, on one database and enforcer.
type fixture struct {
	*users.Service
	tree  *projects.Service
	audit *audit.Service
}

func newFixture(t *testing.T, pool *pgxpool.Pool, en *policies.Enforcer) (fixture, *policies.Principal) {
	t.Helper()
	f := fixture{Service: users.New(pool, en), tree: projects.New(pool, en)}
	f.audit = audit.New(pool, f.tree.Authorizer())
	u, err := f.EnsureAdmin(context.Background(), "root")
	if err != nil {
		t.Fatal(err)
	}
	return f, &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username, Admin: true}
}

func newService(t *testing.T) (fixture, *policies.Principal) {
	t.Helper()
	en, err := policies.NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, testenv.Pool(t), en)
}

func user(t *testing.T, svc fixture, admin *policies.Principal, name string) *policies.Principal {
	t.Helper()
	u, err := svc.CreateUser(context.Background(), admin, users.UserInput{Username: name})
	if err != nil {
		t.Fatal(err)
	}
	return &policies.Principal{Kind: policies.User, UserID: u.ID, Username: u.Username}
}

func (f fixture) CreateGroup(ctx context.Context, p *policies.Principal, in projects.GroupInput) (projects.Group, error) {
	return f.tree.CreateGroup(ctx, p, in)
}

func (f fixture) CreateProject(ctx context.Context, p *policies.Principal, in projects.ProjectInput) (projects.Project, error) {
	return f.tree.CreateProject(ctx, p, in)
}

func (f fixture) Authorizer() *policies.Authorizer { return f.tree.Authorizer() }

// deleteProject deletes the project at path as p.
func (f fixture) deleteProject(ctx context.Context, p *policies.Principal, path string) error {
	pr, err := f.tree.ProjectByPath(ctx, p, path)
	if err != nil {
		return err
	}
	return f.tree.DeleteProject(ctx, p, pr)
}

// projectResource is the project at path as the decision sees it.
func (f fixture) projectResource(ctx context.Context, p *policies.Principal, path string) (policies.Resource, error) {
	pr, err := f.tree.ProjectByPath(ctx, p, path)
	return pr.Resource(), err
}

// setMember adds userID to the group at path with level.
func (f fixture) setMember(ctx context.Context, p *policies.Principal, path string, userID int64, level int32) (projects.Member, error) {
	g, err := f.tree.GroupByPath(ctx, p, path)
	if err != nil {
		return projects.Member{}, err
	}
	return f.tree.SetMember(ctx, p, projects.GroupTarget(g), userID, level, true)
}
