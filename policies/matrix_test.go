package policies

import (
	"errors"
	"fmt"
	"testing"
)

// The tree used by the matrix:
//
//	g:1 acme (namespace)
//	├── g:2 acme/net
//	│   └── p:3 acme/net/vpc   ← the resource under test (depth 2 below acme)
//	└── p:4 acme/other
const (
	acme  = 1
	net   = 2
	vpc   = 3
	other = 4
)

var vpcDomains = []string{ProjectDomain(vpc), GroupDomain(net), GroupDomain(acme)}

func vpcResource(v Visibility) Resource {
	return Resource{Kind: ProjectResource, ID: vpc, Visibility: v, Domains: vpcDomains}
}

// status renders a decision as the HTTP status every surface returns.
func status(err error) int {
	switch {
	case err == nil:
		return 200
	case errors.Is(err, ErrUnauthenticated):
		return 401
	case errors.Is(err, ErrForbidden):
		return 403
	case errors.Is(err, ErrNotFound):
		return 404
	}
	return 500
}

// minLevel is the spec: the lowest access level allowed each action.
var minLevel = map[Action]int32{
	ReadProject:    10,
	ReadPackage:    20,
	CreatePackage:  30,
	DestroyPackage: 40,
	AdminProject:   40,
	DeleteProject:  50,
	// Terrareg: MODIFY (maintainer) and FULL (owner).
	PublishPackage:  40,
	UpdateModule:    40,
	CreateModule:    50,
	DestroyModule:   50,
	ManageRedirects: 50,
}

var matrixActions = []Action{ReadProject, ReadPackage, CreatePackage, DestroyPackage, AdminProject, DeleteProject,
	PublishPackage, UpdateModule, CreateModule, DestroyModule, ManageRedirects}

var visibilities = []Visibility{Private, Internal, Public}

func newTestAuthorizer(t testing.TB) (*Authorizer, *Enforcer) {
	t.Helper()
	en, err := NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewAuthorizer(en), en
}

func ptr(v int64) *int64 { return &v }

func TestMatrixMembersByRoleAndDepth(t *testing.T) {
	z, en := newTestAuthorizer(t)
	// User 100+level*10+depth holds level on the domain at depth (0 = the
	// project itself, 1 = acme/net, 2 = acme).
	type member struct {
		user  int64
		level int32
		depth int
	}
	var members []member
	for _, level := range []int32{10, 20, 30, 40, 50} {
		for depth := 0; depth < 3; depth++ {
			m := member{user: int64(1000 + int(level)*10 + depth), level: level, depth: depth}
			members = append(members, m)
			var err error
			switch depth {
			case 0:
				err = en.ApplyMember("add", m.user, nil, ptr(vpc), level)
			case 1:
				err = en.ApplyMember("add", m.user, ptr(net), nil, level)
			case 2:
				err = en.ApplyMember("add", m.user, ptr(acme), nil, level)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, m := range members {
		for _, vis := range visibilities {
			for _, act := range matrixActions {
				want := 200
				if m.level < minLevel[act] {
					want = 403
					if isRead(act) && vis != Private {
						want = 200 // internal/public: any signed-in user reads
					}
				}
				p := &Principal{Kind: User, UserID: m.user, Username: "u"}
				got := status(z.Check(p, act, vpcResource(vis)))
				if got != want {
					t.Errorf("level %d at depth %d, %s project, %s: got %d, want %d", m.level, m.depth, vis, act, got, want)
				}
			}
		}
	}
	// The highest applicable role wins: reporter on acme + maintainer on the project.
	en.ApplyMember("add", 7, ptr(acme), nil, 20)
	en.ApplyMember("add", 7, nil, ptr(vpc), 40)
	if err := z.Check(&Principal{Kind: User, UserID: 7}, DestroyPackage, vpcResource(Private)); err != nil {
		t.Errorf("maintainer on project + reporter on namespace cannot destroy: %v", err)
	}
	// A membership on a sibling project grants nothing here.
	en.ApplyMember("add", 8, nil, ptr(other), 50)
	if got := status(z.Check(&Principal{Kind: User, UserID: 8}, ReadPackage, vpcResource(Private))); got != 404 {
		t.Errorf("owner of a sibling project reading private vpc: got %d, want 404", got)
	}
	// Removing a membership takes effect at once.
	en.ApplyMember("del", 7, nil, ptr(vpc), 40)
	if got := status(z.Check(&Principal{Kind: User, UserID: 7}, DestroyPackage, vpcResource(Private))); got != 403 {
		t.Errorf("after removing maintainer: got %d, want 403", got)
	}
}

func TestMatrixNonMembersAdminsAnonymous(t *testing.T) {
	z, _ := newTestAuthorizer(t)
	cases := []struct {
		name string
		p    *Principal
		want map[Visibility]map[Action]int
	}{
		{"anonymous", AnonymousPrincipal, map[Visibility]map[Action]int{
			Private:  {ReadProject: 401, ReadPackage: 401, CreatePackage: 401, DestroyPackage: 401, AdminProject: 401, DeleteProject: 401},
			Internal: {ReadProject: 401, ReadPackage: 401, CreatePackage: 401, DestroyPackage: 401, AdminProject: 401, DeleteProject: 401},
			Public:   {ReadProject: 200, ReadPackage: 200, CreatePackage: 401, DestroyPackage: 401, AdminProject: 401, DeleteProject: 401},
		}},
		{"signed-in non-member", &Principal{Kind: User, UserID: 5}, map[Visibility]map[Action]int{
			Private:  {ReadProject: 404, ReadPackage: 404, CreatePackage: 404, DestroyPackage: 404, AdminProject: 404, DeleteProject: 404},
			Internal: {ReadProject: 200, ReadPackage: 200, CreatePackage: 403, DestroyPackage: 403, AdminProject: 403, DeleteProject: 403},
			Public:   {ReadProject: 200, ReadPackage: 200, CreatePackage: 403, DestroyPackage: 403, AdminProject: 403, DeleteProject: 403},
		}},
		{"site admin", &Principal{Kind: User, UserID: 6, Admin: true}, map[Visibility]map[Action]int{
			Private:  {ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 200, AdminProject: 200, DeleteProject: 200},
			Internal: {ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 200, AdminProject: 200, DeleteProject: 200},
			Public:   {ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 200, AdminProject: 200, DeleteProject: 200},
		}},
		{"site admin with read_api token", &Principal{Kind: User, UserID: 6, Admin: true, Scopes: []string{ScopeReadAPI}}, map[Visibility]map[Action]int{
			Private: {ReadProject: 200, ReadPackage: 200, CreatePackage: 403, DestroyPackage: 403, AdminProject: 403, DeleteProject: 403},
		}},
	}
	for _, tc := range cases {
		for vis, acts := range tc.want {
			for act, want := range acts {
				if got := status(z.Check(tc.p, act, vpcResource(vis))); got != want {
					t.Errorf("%s, %s project, %s: got %d, want %d", tc.name, vis, act, got, want)
				}
			}
		}
	}
}

func TestMatrixPATScopes(t *testing.T) {
	z, en := newTestAuthorizer(t)
	en.ApplyMember("add", 9, ptr(acme), nil, 40) // maintainer on the namespace
	want := map[string]map[Action]int{
		ScopeAPI:                  {ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 200, AdminProject: 200},
		ScopeReadAPI:              {ReadProject: 200, ReadPackage: 200, CreatePackage: 403, DestroyPackage: 403, AdminProject: 403},
		ScopeReadPackageRegistry:  {ReadProject: 200, ReadPackage: 200, CreatePackage: 403, DestroyPackage: 403, AdminProject: 403},
		ScopeWritePackageRegistry: {ReadProject: 200, ReadPackage: 403, CreatePackage: 200, DestroyPackage: 403, AdminProject: 403},
	}
	for scope, acts := range want {
		for act, w := range acts {
			p := &Principal{Kind: User, UserID: 9, Scopes: []string{scope}}
			if got := status(z.Check(p, act, vpcResource(Private))); got != w {
				t.Errorf("PAT with %s, %s: got %d, want %d", scope, act, got, w)
			}
		}
	}
	// Scopes never widen a role: a reporter's write_package_registry token cannot publish.
	en.ApplyMember("add", 10, ptr(acme), nil, 20)
	p := &Principal{Kind: User, UserID: 10, Scopes: []string{ScopeWritePackageRegistry, ScopeReadPackageRegistry}}
	if got := status(z.Check(p, CreatePackage, vpcResource(Private))); got != 403 {
		t.Errorf("reporter with write scope publishing: got %d, want 403", got)
	}
}

func TestMatrixDeployTokens(t *testing.T) {
	z, _ := newTestAuthorizer(t)
	rw := []string{ScopeReadPackageRegistry, ScopeWritePackageRegistry}
	cases := []struct {
		attached string
		scopes   []string
		vis      Visibility
		want     map[Action]int
	}{
		{GroupDomain(acme), rw, Private, map[Action]int{ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403, AdminProject: 403}},
		{GroupDomain(net), rw, Private, map[Action]int{ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403}},
		{ProjectDomain(vpc), rw, Private, map[Action]int{ReadPackage: 200, CreatePackage: 200}},
		{ProjectDomain(vpc), []string{ScopeReadPackageRegistry}, Private, map[Action]int{ReadPackage: 200, CreatePackage: 403}},
		{ProjectDomain(vpc), []string{ScopeWritePackageRegistry}, Private, map[Action]int{ReadPackage: 403, CreatePackage: 200}},
		{ProjectDomain(other), rw, Private, map[Action]int{ReadPackage: 404, CreatePackage: 404}},
		{ProjectDomain(other), rw, Internal, map[Action]int{ReadPackage: 404, CreatePackage: 404}},
		{ProjectDomain(other), rw, Public, map[Action]int{ReadPackage: 200, CreatePackage: 403}},
	}
	for _, tc := range cases {
		p := &Principal{Kind: DeployToken, Username: "dt", Scopes: tc.scopes, DeployDomain: tc.attached}
		for act, want := range tc.want {
			if got := status(z.Check(p, act, vpcResource(tc.vis))); got != want {
				t.Errorf("deploy token on %s with %v, %s project, %s: got %d, want %d", tc.attached, tc.scopes, tc.vis, act, got, want)
			}
		}
	}
}

func TestMatrixJobTokens(t *testing.T) {
	z, _ := newTestAuthorizer(t)
	cases := []struct {
		projects []int64
		vis      Visibility
		want     map[Action]int
	}{
		{[]int64{vpc}, Private, map[Action]int{ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403, AdminProject: 403}},
		{[]int64{vpc}, Internal, map[Action]int{ReadProject: 200, ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403}},
		{[]int64{other}, Private, map[Action]int{ReadProject: 404, ReadPackage: 404, CreatePackage: 404}},
		// A job is not a signed-in user: internal projects it may not act for stay hidden.
		{[]int64{other}, Internal, map[Action]int{ReadProject: 404, ReadPackage: 404, CreatePackage: 404}},
		{[]int64{other}, Public, map[Action]int{ReadPackage: 200, CreatePackage: 403}},
		// A token several projects' rules match acts for each of them.
		{[]int64{other, vpc}, Private, map[Action]int{ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403}},
		{[]int64{vpc, other}, Private, map[Action]int{ReadPackage: 200, CreatePackage: 200, DestroyPackage: 403}},
		{nil, Private, map[Action]int{ReadProject: 404, ReadPackage: 404, CreatePackage: 404}},
		{nil, Internal, map[Action]int{ReadProject: 404, ReadPackage: 404, CreatePackage: 404}},
		{nil, Public, map[Action]int{ReadPackage: 200, CreatePackage: 403}},
	}
	for _, tc := range cases {
		p := &Principal{Kind: Job, JobProjectIDs: tc.projects}
		for act, want := range tc.want {
			if got := status(z.Check(p, act, vpcResource(tc.vis))); got != want {
				t.Errorf("job of projects %v, %s vpc, %s: got %d, want %d", tc.projects, tc.vis, act, got, want)
			}
		}
	}
	// Never on the project's groups, whatever their visibility.
	for _, vis := range []Visibility{Private, Internal} {
		p := &Principal{Kind: Job, JobProjectIDs: []int64{vpc}}
		if got := status(z.Check(p, ReadGroup, GroupResourceOf(vis, []int64{acme, net}))); got != 404 {
			t.Errorf("job of vpc reading %s acme/net: got %d, want 404", vis, got)
		}
	}
}

func TestJobPrincipalName(t *testing.T) {
	for _, tc := range []struct {
		ids  []int64
		want string
	}{
		{[]int64{7}, "ci-job:project-7"},
		{[]int64{7, 12}, "ci-job:projects-7,12"},
	} {
		if got := (&Principal{Kind: Job, JobProjectIDs: tc.ids}).Name(); got != tc.want {
			t.Errorf("Name of a job of %v = %q, want %q", tc.ids, got, tc.want)
		}
	}
}

func TestInstanceActions(t *testing.T) {
	z, _ := newTestAuthorizer(t)
	for _, tc := range []struct {
		p    *Principal
		act  Action
		want int
	}{
		{AnonymousPrincipal, AdminInstance, 401},
		{&Principal{Kind: User, UserID: 1}, AdminInstance, 403},
		{&Principal{Kind: User, UserID: 1, Admin: true}, AdminInstance, 200},
		{&Principal{Kind: User, UserID: 1, Admin: true, Scopes: []string{ScopeReadAPI}}, AdminInstance, 403},
		{&Principal{Kind: User, UserID: 1}, CreateNamespace, 200},
		{&Principal{Kind: DeployToken, Scopes: []string{ScopeWritePackageRegistry}}, CreateNamespace, 403},
	} {
		if got := status(z.CheckInstance(tc.p, tc.act)); got != tc.want {
			t.Errorf("%s %+v: got %d, want %d", tc.act, tc.p, got, tc.want)
		}
	}
}

func TestNotFoundHidesExistence(t *testing.T) {
	if status(NotFound(AnonymousPrincipal)) != 401 || status(NotFound(&Principal{Kind: User, UserID: 1})) != 404 {
		t.Fatal("NotFound must ask anonymous callers to authenticate and tell others 404")
	}
}

func TestRoleMappings(t *testing.T) {
	for level, role := range map[int32]Role{10: Guest, 20: Reporter, 30: Developer, 40: Maintainer, 50: Owner} {
		if r, err := RoleForLevel(level); err != nil || r != role {
			t.Errorf("RoleForLevel(%d) = %v, %v", level, r, err)
		}
	}
	if _, err := RoleForLevel(35); err == nil {
		t.Error("RoleForLevel(35) accepted")
	}
	if r, _ := RoleForTerrareg("MODIFY"); r != Maintainer {
		t.Error("MODIFY must map to maintainer")
	}
	if r, _ := RoleForTerrareg("FULL"); r != Owner {
		t.Error("FULL must map to owner")
	}
}

func ExampleAuthorizer_Check() {
	en, _ := NewEnforcer(nil)
	z := NewAuthorizer(en)
	en.ApplyMember("add", 42, ptr(acme), nil, 30)
	dev := &Principal{Kind: User, UserID: 42}
	fmt.Println(z.Check(dev, CreatePackage, vpcResource(Private)))
	fmt.Println(z.Check(dev, DestroyPackage, vpcResource(Private)))
	// Output:
	// <nil>
	// forbidden
}
