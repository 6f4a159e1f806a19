package modules

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/queries"
)

// Terrareg's module analytics: a module source may name an analytics token
// before its namespace (host/<token>__<namespace>/<name>/<provider>); each
// download through the Terraform protocol, and each POST to Terrareg's
// analytics endpoint, records the token, the Terraform version and the
// environment against the version. Recording costs no database write:
// uses are counted in memory and upserted in batches (RunAnalytics), one
// row per version, token, Terraform version, environment and day
// (migration 00045), never a row per download.
//
// Environments come from Terrareg's ANALYTICS_AUTH_KEYS, which Cairn does
// not have: every use is recorded with the empty environment, answered as
// Terrareg's "Default", and none carries an analytics auth token.

// ExampleAnalyticsToken is the token Terrareg's UI shows in usage examples
// (EXAMPLE_ANALYTICS_TOKEN); a source naming it records no token.
const ExampleAnalyticsToken = "my-tf-application"

// DefaultEnvironment is Terrareg's environment when no analytics auth keys
// are configured.
const DefaultEnvironment = "Default"

// SplitAnalyticsToken reads Terrareg's token prefix: "<token>__<namespace>"
// is (namespace, token, true) — the token "" when it is empty or the
// example token; anything else (no "__", or more than one) is the
// namespace itself.
func SplitAnalyticsToken(ns string) (namespace, token string, ok bool) {
	parts := strings.Split(ns, "__")
	if len(parts) != 2 {
		return ns, "", false
	}
	return parts[1], SanitiseAnalyticsToken(parts[0]), true
}

// SanitiseAnalyticsToken is Terrareg's: the example token counts as none.
func SanitiseAnalyticsToken(token string) string {
	if token == ExampleAnalyticsToken {
		return ""
	}
	return token
}

// TerraformVersionFromUserAgent is the version in a Terraform (or OpenTofu)
// User-Agent ("Terraform/1.9.8 (+https://www.terraform.io)"), "" for any
// other client, as Terrareg records it.
func TerraformVersionFromUserAgent(ua string) string {
	for _, prefix := range []string{"Terraform/", "OpenTofu/"} {
		if rest, ok := strings.CutPrefix(ua, prefix); ok {
			v, _, _ := strings.Cut(rest, " ")
			return v
		}
	}
	return ""
}

type analyticsKey struct {
	versionID                            int64
	token, terraformVersion, environment string
}

type analyticsCount struct {
	n    int64
	last time.Time
}

// analyticsBuffer holds uses not yet written; its zero value is ready.
type analyticsBuffer struct {
	mu     sync.Mutex
	counts map[analyticsKey]analyticsCount
}

func (b *analyticsBuffer) add(k analyticsKey, n int64, last time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.counts == nil {
		b.counts = map[analyticsKey]analyticsCount{}
	}
	c := b.counts[k]
	c.n += n
	if last.After(c.last) {
		c.last = last
	}
	b.counts[k] = c
}

func (b *analyticsBuffer) take() map[analyticsKey]analyticsCount {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.counts
	b.counts = nil
	return out
}

// RecordAnalytics counts one use of version versionID with an analytics
// token ("" for none) and a Terraform version ("" when unknown).
func (s *Service) RecordAnalytics(versionID int64, token, terraformVersion string) {
	s.analytics.add(analyticsKey{versionID: versionID, token: token, terraformVersion: terraformVersion}, 1, time.Now().UTC())
}

// SubmitAnalytics is Terrareg's analytics endpoint: p (who may read mod)
// reports a use of version ver with token and terraformVersion. A missing
// version is NotFound, a missing token Invalid.
func (s *Service) SubmitAnalytics(p *policies.Principal, mod *Module, ver, token, terraformVersion string) error {
	v, ok := mod.Version(ver)
	if !ok {
		if uv, found := mod.AnyVersion(ver); found && s.CanMaintain(p, mod) {
			v, ok = uv, true
		}
	}
	if !ok {
		return errNoVersion
	}
	token = SanitiseAnalyticsToken(token)
	if token == "" {
		return errs.Field(errs.Invalid, "analytics_token", "Invalid analytics token")
	}
	s.RecordAnalytics(v.ID, token, terraformVersion)
	return nil
}

// FlushAnalytics writes the buffered uses now.
func (s *Service) FlushAnalytics(ctx context.Context) error {
	counts := s.analytics.take()
	if len(counts) == 0 {
		return nil
	}
	p := queries.AddAnalyticsParams{Day: time.Now().UTC()}
	for k, c := range counts {
		p.VersionIds = append(p.VersionIds, k.versionID)
		p.Tokens = append(p.Tokens, k.token)
		p.TerraformVersions = append(p.TerraformVersions, k.terraformVersion)
		p.Environments = append(p.Environments, k.environment)
		p.Counts = append(p.Counts, c.n)
		p.LastAts = append(p.LastAts, c.last)
	}
	err := queries.New(s.db).AddAnalytics(ctx, p)
	if err != nil && !errs.IsForeignKey(err) {
		// Put them back so the next flush retries. (Uses of a version
		// deleted meanwhile fail the whole batch with a foreign-key
		// violation, classified Invalid: those are dropped.)
		for k, c := range counts {
			s.analytics.add(k, c.n, c.last)
		}
	}
	return err
}

// RunAnalytics flushes analytics every interval until ctx ends, then once
// more.
func (s *Service) RunAnalytics(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.FlushAnalytics(flushCtx); err != nil {
				log.Warn("final analytics flush failed", "error", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.FlushAnalytics(ctx); err != nil {
				log.Warn("analytics flush failed; will retry", "error", err)
			}
		}
	}
}

// TokenVersion is the latest use of a module by one analytics token.
type TokenVersion struct {
	Token            string
	Environment      string
	ModuleVersion    string
	TerraformVersion string
}

// TokenVersions lists, per analytics token, the version of mod it used
// last and with which Terraform (Terrareg's token_versions).
func (s *Service) TokenVersions(ctx context.Context, mod *Module) ([]TokenVersion, error) {
	rows, err := queries.New(s.db).ModuleTokenVersions(ctx, mod.ID)
	if err != nil {
		return nil, fmt.Errorf("token versions: %w", err)
	}
	out := make([]TokenVersion, 0, len(rows))
	for _, r := range rows {
		env := r.Environment
		if env == "" {
			env = DefaultEnvironment
		}
		out = append(out, TokenVersion{Token: r.AnalyticsToken, Environment: env, ModuleVersion: r.Version,
			TerraformVersion: r.TerraformVersion})
	}
	return out, nil
}

// UsageStats are Terrareg's global usage figures over what p may read.
type UsageStats struct {
	// ModuleProviders counts the modules p may read, with or without a
	// version.
	ModuleProviders int64
	// Tokens counts, per "namespace/name/provider", the distinct analytics
	// tokens (no token counting as one) that used its published releases.
	Tokens map[string]int64
}

// UsageStats totals analytics over the modules p may read.
func (s *Service) UsageStats(ctx context.Context, p *policies.Principal) (UsageStats, error) {
	st := UsageStats{Tokens: map[string]int64{}}
	sc := s.authz.ReadableScope(p)
	if sc.None {
		return st, nil
	}
	a := argsOf(sc)
	q := s.catalog()
	n, err := q.ReadableModuleCount(ctx, queries.ReadableModuleCountParams{ScopeAll: a.all, ScopeInternal: a.internal,
		ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
	if err != nil {
		return st, fmt.Errorf("usage stats: %w", err)
	}
	st.ModuleProviders = n
	rows, err := q.ModuleUsageCounts(ctx, queries.ModuleUsageCountsParams{ScopeAll: a.all, ScopeInternal: a.internal,
		ScopeProjectIds: a.projects, ScopeGroupIds: a.groups})
	if err != nil {
		return st, fmt.Errorf("usage stats: %w", err)
	}
	for _, r := range rows {
		st.Tokens[r.Namespace+"/"+r.Name+"/"+r.System] = r.Tokens
	}
	return st, nil
}

// VersionFigures are what Terrareg's outlines say of one version beyond
// the catalog: its own downloads, its root's Terraform constraint, its
// repository URL and whether its module is verified.
type VersionFigures struct {
	Downloads int64
	// RequiredVersion is the root's required_version constraints, joined
	// with ", " ("" when none).
	RequiredVersion string
	// SourceURL is the repository (RepoTemplates' base), "" when unset.
	SourceURL string
	Verified  bool
}

// VersionFigures reads the figures of versions ids (missing ids are
// absent from the map).
func (s *Service) VersionFigures(ctx context.Context, ids []int64) (map[int64]VersionFigures, error) {
	out := map[int64]VersionFigures{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := queries.New(s.db).VersionOutlineFigures(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("version figures: %w", err)
	}
	for _, r := range rows {
		base, _ := s.RepoTemplates(Settings{RepoBaseURLTemplate: r.RepoBaseUrlTemplate, RepoBrowseURLTemplate: r.RepoBrowseUrlTemplate,
			GitProviderID: r.GitProviderID}, r.JsonRepoBaseUrl, r.JsonRepoBrowseUrl)
		out[r.ID] = VersionFigures{Downloads: r.Downloads, RequiredVersion: r.RequiredVersion, Verified: r.Verified,
			SourceURL: RepoURL(base, RepoFields{Namespace: r.Namespace, Module: r.Name, Provider: r.System, Tag: r.Version})}
	}
	return out, nil
}

// RepoTemplates are the repository base and browse URL templates Terrareg
// uses for a version: the module provider's own (settings), else its git
// provider's (CAIRN_GIT_PROVIDERS), else the version's terrareg.json's
// (jsonBase, jsonBrowse). "" when none is set.
func (s *Service) RepoTemplates(st Settings, jsonBase, jsonBrowse string) (base, browse string) {
	base, browse = jsonBase, jsonBrowse
	if st.GitProviderID != nil {
		if g, ok := s.gitProvider(*st.GitProviderID); ok {
			base, browse = g.BaseURL, g.BrowseURL
		}
	}
	if st.RepoBaseURLTemplate != nil {
		base = *st.RepoBaseURLTemplate
	}
	if st.RepoBrowseURLTemplate != nil {
		browse = *st.RepoBrowseURLTemplate
	}
	return base, browse
}

// GitProvider is one of Terrareg's git providers (CAIRN_GIT_PROVIDERS);
// ID counts from 1 in configuration order.
type GitProvider struct {
	ID                                          int64
	Name, BaseURL, CloneURL, BrowseURL, GitPath string
}

// SetGitProviders sets the configured git providers.
func (s *Service) SetGitProviders(list []GitProvider) { s.gitProviders = list }

// GitProviders lists the configured git providers.
func (s *Service) GitProviders() []GitProvider { return s.gitProviders }

// gitProvider finds a configured git provider by id.
func (s *Service) gitProvider(id int64) (GitProvider, bool) {
	for _, g := range s.gitProviders {
		if g.ID == id {
			return g, true
		}
	}
	return GitProvider{}, false
}
