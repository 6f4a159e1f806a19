package policies

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// seed creates acme (g:1) ⊃ acme/net (g:2) ⊃ acme/net/vpc (p:1) and users 1..3.
func seed(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		INSERT INTO users (id, username) VALUES (1, 'alice'), (2, 'bob'), (3, 'carol');
		INSERT INTO groups (id, parent_id, path, name, full_path) VALUES (1, NULL, 'acme', 'acme', 'acme'), (2, 1, 'net', 'net', 'acme/net');
		INSERT INTO projects (id, group_id, path, name, full_path) VALUES (1, 2, 'vpc', 'vpc', 'acme/net/vpc');
		INSERT INTO members (user_id, group_id, access_level) VALUES (1, 1, 30);`)
	if err != nil {
		t.Fatal(err)
	}
}

var seededVPC = Resource{Kind: ProjectResource, ID: 1, Visibility: Private, Domains: []string{"p:1", "g:2", "g:1"}}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two replicas: a change written through one database connection reaches
// both enforcers through LISTEN/NOTIFY, without a reload.
func TestLoadAndFollowChanges(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	seed(t, pool)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var replicas []*Authorizer
	for range 2 {
		en, err := NewEnforcer(nil)
		if err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		go en.Follow(ctx, pool, ready)
		<-ready
		replicas = append(replicas, NewAuthorizer(en))
	}
	alice := &Principal{Kind: User, UserID: 1}
	bob := &Principal{Kind: User, UserID: 2}
	carol := &Principal{Kind: User, UserID: 3}
	for i, z := range replicas {
		if err := z.Check(alice, CreatePackage, seededVPC); err != nil {
			t.Fatalf("replica %d: loaded developer membership not honoured: %v", i, err)
		}
		if err := z.Check(bob, ReadPackage, seededVPC); err != ErrNotFound {
			t.Fatalf("replica %d: bob before any membership: %v, want not found", i, err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO members (user_id, project_id, access_level) VALUES (2, 1, 40)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE members SET access_level = 20 WHERE user_id = 1`); err != nil {
		t.Fatal(err)
	}
	for i, z := range replicas {
		eventually(t, "bob's new membership reaches the replica", func() bool { return z.Check(bob, DestroyPackage, seededVPC) == nil })
		eventually(t, "alice's demotion reaches the replica", func() bool { return z.Check(alice, CreatePackage, seededVPC) == ErrForbidden })
		_ = i
	}
	// Terrareg user groups: FULL on acme → owner; site_admin → admin.
	if _, err := pool.Exec(ctx, `
		INSERT INTO user_groups (id, name, site_admin) VALUES (1, 'platform', false), (2, 'admins', true);
		INSERT INTO user_group_members VALUES (1, 3), (2, 2);
		INSERT INTO user_group_permissions VALUES (1, 1, 'FULL');`); err != nil {
		t.Fatal(err)
	}
	for _, z := range replicas {
		eventually(t, "user group FULL grants owner", func() bool { return z.Check(carol, DeleteProject, seededVPC) == nil })
		eventually(t, "site-admin user group", func() bool { return z.IsAdmin(bob) })
	}
	if _, err := pool.Exec(ctx, `UPDATE user_group_permissions SET permission = 'MODIFY'`); err != nil {
		t.Fatal(err)
	}
	for _, z := range replicas {
		eventually(t, "MODIFY maps to maintainer", func() bool {
			return z.Check(carol, DeleteProject, seededVPC) == ErrForbidden && z.Check(carol, DestroyPackage, seededVPC) == nil
		})
	}
	if _, err := pool.Exec(ctx, `DELETE FROM user_groups WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	for _, z := range replicas {
		eventually(t, "deleted user group grants nothing", func() bool { return z.Check(carol, ReadProject, seededVPC) == ErrNotFound })
	}
}

var bench100k struct {
	once sync.Once
	z    *Authorizer
	load time.Duration
	err  error
}

// BenchmarkCheck100k measures one decision with 100,000 memberships loaded
// from PostgreSQL, and reports the load time (load-s).
func BenchmarkCheck100k(b *testing.B) {
	bench100k.once.Do(func() {
		ctx := context.Background()
		pool, err := pgxpool.New(ctx, testenv.DatabaseURL(b))
		if err != nil {
			bench100k.err = err
			return
		}
		defer pool.Close()
		_, err = pool.Exec(ctx, `
		INSERT INTO users (id, username) SELECT i, 'user' || i FROM generate_series(1, 100000) i;
		INSERT INTO groups (id, parent_id, path, name, full_path) SELECT i, NULL, 'ns' || i, 'ns' || i, 'ns' || i FROM generate_series(1, 1000) i;
		INSERT INTO groups (id, parent_id, path, name, full_path) SELECT 1000 + i, i, 'sub', 'sub', 'ns' || i || '/sub' FROM generate_series(1, 1000) i;
		INSERT INTO projects (id, group_id, path, name, full_path) SELECT i, 1000 + i, 'p', 'p', 'ns' || i || '/sub/p' FROM generate_series(1, 1000) i;
		INSERT INTO members (user_id, group_id, access_level) SELECT i, 1 + (i % 1000), (ARRAY[10,20,30,40,50])[1 + i % 5] FROM generate_series(1, 100000) i;`)
		if err != nil {
			bench100k.err = err
			return
		}
		en, err := NewEnforcer(nil)
		if err != nil {
			bench100k.err = err
			return
		}
		start := time.Now()
		bench100k.err = en.Load(ctx, pool)
		bench100k.load = time.Since(start)
		bench100k.z = NewAuthorizer(en)
	})
	if bench100k.err != nil {
		b.Fatal(bench100k.err)
	}
	z := bench100k.z
	// User 4241 is a member of ns242 (1 + 4241 % 1000) at level 20
	// (reporter: index 1 + 4241 % 5 = 2); the project ns242/sub/p is two
	// levels below the membership, so all three domains are consulted.
	r := Resource{Kind: ProjectResource, ID: 242, Visibility: Private, Domains: []string{"p:242", "g:1242", "g:242"}}
	p := &Principal{Kind: User, UserID: 4241}
	if err := z.Check(p, ReadPackage, r); err != nil {
		b.Fatalf("sanity: reporter cannot read: %v", err)
	}
	if err := z.Check(p, CreatePackage, r); err != ErrForbidden {
		b.Fatalf("sanity: reporter may publish: %v", err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if z.Check(p, ReadPackage, r) != nil {
				b.Fatal("denied")
			}
		}
	})
	b.ReportMetric(bench100k.load.Seconds(), "load-s")
}

// TestDomainIndexFollowsCasbin applies a random sequence of membership
// changes and checks that the subject → domains index ReadableScope reads
// always agrees with casbin's roles, and enforce with the model's matcher.
func TestDomainIndexFollowsCasbin(t *testing.T) {
	en, err := NewEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	levels := []int32{10, 20, 30, 40, 50}
	for i := range 2000 {
		uid, id, level := int64(r.IntN(20)+1), int64(r.IntN(15)+1), levels[r.IntN(len(levels))]
		var gid, pid *int64
		if r.IntN(2) == 0 {
			gid = &id
		} else {
			pid = &id
		}
		op := "add"
		if r.IntN(3) == 0 {
			op = "del"
		}
		if err := en.ApplyMember(op, uid, gid, pid, level); err != nil {
			t.Fatal(err)
		}
		if i%100 != 99 {
			continue
		}
		for u := int64(1); u <= 20; u++ {
			roles, _ := en.cur.Load().GetRolesForUser(userSubject(u))
			var want []string
			for _, r := range roles {
				dom, _, _ := strings.Cut(r, "|")
				want = append(want, dom)
			}
			want = slices.Compact(slices.Sorted(slices.Values(want)))
			if got := en.cur.Load().domains.of(userSubject(u)); !slices.Equal(got, want) {
				t.Fatalf("after %d changes, user %d: index has %v, casbin %v", i+1, u, got, want)
			}
			// The shortcut enforce takes agrees with the model's matcher.
			for _, dom := range []string{GroupDomain(3), ProjectDomain(5), GroupDomain(99)} {
				for _, a := range []Action{ReadPackage, CreatePackage, AdminGroup, ManageGroupMembers} {
					want, err := en.cur.Load().Enforce(userSubject(u), dom, string(a))
					if err != nil {
						t.Fatal(err)
					}
					if got := en.enforce(userSubject(u), dom, a); got != want {
						t.Fatalf("user %d, %s, %s: enforce = %v, the matcher says %v", u, dom, a, got, want)
					}
				}
			}
		}
	}
}
