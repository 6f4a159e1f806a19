package policies

import (
	"slices"
	"testing"
)

func TestReadableScopeAgreesWithCheck(t *testing.T) {
	z, en := newTestAuthorizer(t)
	en.ApplyMember("add", 1, ptr(net), nil, 20)   // reporter on acme/net
	en.ApplyMember("add", 1, nil, ptr(other), 10) // guest on acme/other: cannot read packages
	en.ApplyMember("add", 2, nil, ptr(vpc), 30)
	cases := []struct {
		name string
		p    *Principal
		want Scope
	}{
		{"anonymous", AnonymousPrincipal, Scope{}},
		{"reporter on a subgroup", &Principal{Kind: User, UserID: 1}, Scope{Internal: true, GroupIDs: []int64{net}}},
		{"developer on a project", &Principal{Kind: User, UserID: 2}, Scope{Internal: true, ProjectIDs: []int64{vpc}}},
		{"write-only token", &Principal{Kind: User, UserID: 2, Scopes: []string{ScopeWritePackageRegistry}}, Scope{None: true}},
		{"admin", &Principal{Kind: User, UserID: 9, Admin: true}, Scope{All: true}},
		{"deploy token", &Principal{Kind: DeployToken, Scopes: []string{ScopeReadPackageRegistry}, DeployDomain: GroupDomain(acme)}, Scope{GroupIDs: []int64{acme}}},
		{"job", &Principal{Kind: Job, JobProjectIDs: []int64{vpc}}, Scope{ProjectIDs: []int64{vpc}}},
		{"job of several projects", &Principal{Kind: Job, JobProjectIDs: []int64{other, vpc}}, Scope{ProjectIDs: []int64{other, vpc}}},
		{"job of another project", &Principal{Kind: Job, JobProjectIDs: []int64{other}}, Scope{ProjectIDs: []int64{other}}},
	}
	for _, tc := range cases {
		got := z.ReadableScope(tc.p)
		if got.None != tc.want.None || got.All != tc.want.All || got.Internal != tc.want.Internal ||
			!slices.Equal(got.ProjectIDs, tc.want.ProjectIDs) || !slices.Equal(got.GroupIDs, tc.want.GroupIDs) {
			t.Errorf("%s: scope %+v, want %+v", tc.name, got, tc.want)
		}
		// Whatever the scope includes, Check must allow reading, and vice versa, on the private vpc.
		inScope := got.All || slices.Contains(got.ProjectIDs, vpc) || slices.ContainsFunc(got.GroupIDs, func(g int64) bool { return g == acme || g == net })
		if allowed := z.Check(tc.p, ReadPackage, vpcResource(Private)) == nil; allowed != (inScope && !got.None) {
			t.Errorf("%s: scope includes private vpc = %v but Check allows = %v", tc.name, inScope, allowed)
		}
	}
}
