// Package gitimport publishes module versions from git repositories: a tag
// is fetched shallowly (https:// only, through the hardened outbound client,
// bounded in time, size and object count, no submodules, no LFS) into a
// temporary directory, the module's git path is archived as a tar.gz, and
// the archive goes through the normal publish (modules.Service.Publish: the
// same validation, limits and refusals), followed by an audit event naming
// the commit. Imports run as durable jobs (package jobs), asked for through
// Terrareg's import endpoints or by verified GitHub, GitLab and Bitbucket
// webhooks.
//
// The repository settings are Terrareg's module provider settings (clone
// URL template, git tag format, git path; see modules.Settings). This
// package keeps what is secret: an HTTPS token to clone with and the
// webhook secret, both sealed with a key derived from CAIRN_SECRET_KEY and
// never shown again (the webhook secret once, when generated).
package gitimport

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/audit"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/internal/outbound"
	"github.com/cairn-registry/cairn/jobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/projects"
	"github.com/cairn-registry/cairn/queries"
)

// KindImport is the job kind of an import.
const KindImport = "git_import"

// Service imports module versions from git.
type Service struct {
	db      *pgxpool.Pool
	modules *modules.Service
	tenancy *projects.Service
	authz   *policies.Authorizer
	jobs    *jobs.Queue
	policy  outbound.Policy
	sealer  *sealer
	log     *slog.Logger

	tlsConfig atomic.Pointer[tls.Config]
	limits    Limits
}

// New returns the import service and registers its job handler on queue.
// secretKey is CAIRN_SECRET_KEY (nil: credentials and webhook secrets
// cannot be stored); policy is CAIRN_OUTBOUND_ALLOW.
func New(db *pgxpool.Pool, mods *modules.Service, tenancy *projects.Service, queue *jobs.Queue, policy outbound.Policy,
	secretKey []byte, log *slog.Logger) (*Service, error) {
	s := &Service{db: db, modules: mods, tenancy: tenancy, authz: tenancy.Authorizer(), jobs: queue, policy: policy,
		log: log, limits: DefaultLimits}
	if len(secretKey) > 0 {
		var err error
		if s.sealer, err = newSealer(secretKey); err != nil {
			return nil, fmt.Errorf("CAIRN_SECRET_KEY: %w", err)
		}
	}
	queue.Handle(KindImport, s.run)
	return s, nil
}

// SetTLSConfig sets the TLS configuration of repository fetches (e.g. an
// internal CA's RootCAs).
func (s *Service) SetTLSConfig(c *tls.Config) { s.tlsConfig.Store(c) }

// SetLimits replaces the import limits (before any job runs).
func (s *Service) SetLimits(l Limits) { s.limits = l }

// Jobs is the queue imports run on.
func (s *Service) Jobs() *jobs.Queue { return s.jobs }

var errNoKey = errs.Field(errs.Invalid, "secret",
	"CAIRN_SECRET_KEY is not set on this Cairn: git credentials and webhook secrets cannot be stored")

// requester is who asked for an import; the job publishes as them.
type requester struct {
	UserID   int64  `json:"user_id,omitempty"`
	Username string `json:"username"`
	Admin    bool   `json:"admin,omitempty"`
	// Webhook names the verified webhook source (github, gitlab, bitbucket).
	Webhook string `json:"webhook,omitempty"`
}

func requesterOf(p *policies.Principal) requester {
	return requester{UserID: p.UserID, Username: p.Name(), Admin: p.Admin}
}

func (r requester) principal() *policies.Principal {
	if r.Webhook != "" {
		// A verified delivery acts for the module provider it was sent to
		// and only for it (the job names the module).
		return &policies.Principal{Kind: policies.User, Username: "webhook:" + r.Webhook, Admin: true}
	}
	return &policies.Principal{Kind: policies.User, UserID: r.UserID, Username: r.Username, Admin: r.Admin}
}

// importArgs are an import job's arguments.
type importArgs struct {
	Tag       string    `json:"tag"`
	Version   string    `json:"version"`
	Requester requester `json:"requester"`
	// ExistingOK reports an existing version as the outcome rather than an
	// error (webhook deliveries: a replay or redelivery is harmless).
	ExistingOK bool `json:"existing_ok,omitempty"`
}

// Result is a finished import.
type Result struct {
	Outcome string `json:"outcome"` // imported, exists
	Version string `json:"version"`
	Tag     string `json:"tag"`
	Commit  string `json:"commit,omitempty"`
}

// ImportInput is Terrareg's import arguments: one of Version and GitTag.
type ImportInput struct {
	Version string
	GitTag  string
}

// Import enqueues the import of a tag of mod (MODIFY); the returned job
// runs on any replica. What can be checked at once is: the arguments, the
// tag format and the repository URL.
func (s *Service) Import(ctx context.Context, p *policies.Principal, mod *modules.Module, in ImportInput) (jobs.Job, error) {
	if err := s.authz.Check(p, policies.PublishPackage, mod.Resource); err != nil {
		return jobs.Job{}, err
	}
	switch {
	case in.Version != "" && in.GitTag != "":
		return jobs.Job{}, errs.Field(errs.Invalid, "version", "Only one of version and git_tag may be provided")
	case in.Version == "" && in.GitTag == "":
		return jobs.Job{}, errs.Field(errs.Invalid, "version", "Either version or git_tag must be provided")
	}
	format, err := parseTagFormat(mod.Settings.GitTagFormat)
	if err != nil {
		return jobs.Job{}, err
	}
	args := importArgs{Requester: requesterOf(p)}
	if in.Version != "" {
		if args.Tag, err = format.tag(in.Version); err != nil {
			return jobs.Job{}, err
		}
		args.Version, _ = format.version(args.Tag)
	} else {
		v, ok := format.version(in.GitTag)
		if !ok {
			return jobs.Job{}, errs.Field(errs.Invalid, "git_tag", "Git tag %s does not match the git tag format %s", in.GitTag, format.format)
		}
		args.Tag, args.Version = in.GitTag, v
	}
	if _, err := s.repoURL(mod); err != nil {
		return jobs.Job{}, err
	}
	id := mod.ID
	return s.jobs.Enqueue(ctx, jobs.EnqueueInput{Kind: KindImport, ModuleID: &id, Args: args, RequestedBy: p.Name()})
}

// Wait returns job id once finished (or its state when ctx ends first).
func (s *Service) Wait(ctx context.Context, id int64) (jobs.Job, error) { return s.jobs.Wait(ctx, id) }

// Job returns one of mod's jobs to someone who may read mod.
func (s *Service) Job(ctx context.Context, p *policies.Principal, mod *modules.Module, id int64) (jobs.Job, error) {
	if err := s.authz.Check(p, policies.ReadPackage, mod.Resource); err != nil {
		return jobs.Job{}, err
	}
	j, err := s.jobs.Get(ctx, id)
	if err != nil {
		return j, err
	}
	if j.ModuleID == nil || *j.ModuleID != mod.ID {
		return jobs.Job{}, errs.Field(errs.NotFound, "job", "Job does not exist")
	}
	return j, nil
}

// ListJobs returns mod's recent jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, p *policies.Principal, mod *modules.Module) ([]jobs.Job, error) {
	if err := s.authz.Check(p, policies.ReadPackage, mod.Resource); err != nil {
		return nil, err
	}
	return s.jobs.ListForModule(ctx, mod.ID, 50)
}

// repoURL is mod's clone URL, as Terrareg chooses it: the module's clone
// URL template, else its git provider's (CAIRN_GIT_PROVIDERS), else the
// module's base URL template; rendered, https:// only.
func (s *Service) repoURL(mod *modules.Module) (string, error) {
	t := mod.Settings.RepoCloneURLTemplate
	if (t == nil || *t == "") && mod.Settings.GitProviderID != nil {
		for _, g := range s.modules.GitProviders() {
			if g.ID == *mod.Settings.GitProviderID && g.CloneURL != "" {
				clone := g.CloneURL
				t = &clone
			}
		}
	}
	if t == nil || *t == "" {
		t = mod.Settings.RepoBaseURLTemplate
	}
	if t == nil || *t == "" {
		return "", errs.Field(errs.Invalid, "repo_clone_url_template", "Module provider is not configured with a repository")
	}
	u := renderURL(*t, mod.Namespace, mod.Name, mod.System)
	if _, err := checkRepoURL(u); err != nil {
		return "", errs.Field(errs.Invalid, "repo_clone_url_template", "%s", err.Error())
	}
	return u, nil
}

// system finds modules whatever their visibility (jobs and verified hooks).
var system = &policies.Principal{Kind: policies.User, Username: "git-import", Admin: true}

// moduleByID returns module id as it is now (settings, address).
func (s *Service) moduleByID(ctx context.Context, id int64) (*modules.Module, error) {
	addr, err := queries.New(s.db).ModuleAddressByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	return s.modules.Find(ctx, system, addr.Namespace, addr.Name, addr.System)
}

// run is the import job.
func (s *Service) run(ctx context.Context, job jobs.Job) (any, error) {
	var args importArgs
	if err := json.Unmarshal(job.Args, &args); err != nil {
		return nil, jobs.Permanent(fmt.Errorf("invalid job arguments: %w", err))
	}
	if job.ModuleID == nil {
		return nil, jobs.Permanent(errors.New("the job names no module provider"))
	}
	mod, err := s.moduleByID(ctx, *job.ModuleID)
	if errs.Is(err, errs.NotFound) {
		return nil, jobs.Permanent(errors.New("Module provider does not exist"))
	} else if err != nil {
		return nil, err
	}
	res := Result{Tag: args.Tag, Version: args.Version}
	if _, ok := mod.AnyVersion(args.Version); ok {
		if args.ExistingOK {
			res.Outcome = "exists"
			return res, nil
		}
		return nil, jobs.Permanent(errExists)
	}
	raw, err := s.repoURL(mod)
	if err != nil {
		return nil, jobs.Permanent(errors.New(errs.Message(err)))
	}
	repo, err := checkRepoURL(raw)
	if err != nil {
		return nil, jobs.Permanent(err)
	}
	auth, err := s.credential(ctx, mod.ID)
	if err != nil {
		return nil, jobs.Permanent(err)
	}

	dir, err := os.MkdirTemp("", "cairn-git-import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	fctx, cancel := context.WithTimeout(ctx, s.limits.Timeout)
	defer cancel()
	client := outbound.New(s.policy, outbound.WithTimeout(s.limits.Timeout), outbound.WithMaxBody(s.limits.MaxFetchBytes),
		outbound.WithTLSConfig(s.tlsConfig.Load()))
	defer client.CloseIdleConnections()
	f, err := fetchTag(fctx, client, repo, auth, args.Tag, dir, s.limits)
	if err != nil {
		return nil, permanentIfImportError(err)
	}
	res.Commit = f.commit.Hash.String()
	archivePath := filepath.Join(dir, "module.tar.gz")
	out, err := os.OpenFile(archivePath, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	gitPath := ""
	if mod.Settings.GitPath != nil {
		gitPath = *mod.Settings.GitPath
	}
	err = writeArchive(out, f, gitPath, args.Tag, s.limits)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, permanentIfImportError(err)
	}
	if err := s.publish(ctx, mod, args, archivePath, repo.Redacted(), res.Commit); err != nil {
		if errs.Is(err, errs.Conflict) && errs.FieldOf(err) == "version" && args.ExistingOK {
			res.Outcome = "exists"
			return res, nil
		}
		return nil, err
	}
	res.Outcome = "imported"
	return res, nil
}

var errExists = errors.New("The module version already exists and re-indexing modules is disabled")

func permanentIfImportError(err error) error {
	var ie *importError
	if errors.As(err, &ie) {
		return jobs.Permanent(err)
	}
	return err
}

// publish runs the normal publish of the archive at archivePath and records
// where it came from.
func (s *Service) publish(ctx context.Context, mod *modules.Module, args importArgs, archivePath, repo, commit string) error {
	p := args.Requester.principal()
	proj, err := s.tenancy.ProjectByID(ctx, system, mod.ProjectID)
	if err != nil {
		return err
	}
	f, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	v, err := s.modules.Publish(ctx, p, proj, modules.PublishInput{Name: mod.Name, System: mod.System, Version: args.Version,
		Body: f, Size: st.Size()})
	if err != nil {
		switch errs.KindOf(err) {
		case errs.Invalid, errs.TooLarge, errs.Forbidden, errs.Unauthenticated, errs.NotFound:
			return jobs.Permanent(fmt.Errorf("%s", errs.Message(err)))
		case errs.Conflict:
			if args.ExistingOK {
				return err
			}
			return jobs.Permanent(fmt.Errorf("%s", errs.Message(err)))
		}
		return err
	}
	err = audit.Record(context.WithoutCancel(ctx), s.db, p, "import", "module_version", v.ID, nil, map[string]string{
		"module": mod.Namespace + "/" + mod.Name + "/" + mod.System, "version": v.Version, "tag": args.Tag,
		"repository": repo, "commit": commit})
	if err != nil {
		s.log.Warn("recording the import's audit event failed", "error", err, "version", v.ID)
	}
	return nil
}

// credential opens module id's stored HTTPS credential, if any.
func (s *Service) credential(ctx context.Context, moduleID int64) (*githttp.BasicAuth, error) {
	row, err := queries.New(s.db).GetModuleGitSecrets(ctx, moduleID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.CredentialSealed == nil) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if s.sealer == nil {
		return nil, errors.New("A git credential is stored but CAIRN_SECRET_KEY is not set: it cannot be used")
	}
	token, err := s.sealer.open(row.CredentialSealed, moduleID, "credential")
	if err != nil {
		return nil, err
	}
	user := "git"
	if row.CredentialUsername != nil && *row.CredentialUsername != "" {
		user = *row.CredentialUsername
	}
	return &githttp.BasicAuth{Username: user, Password: string(token)}, nil
}

// GitStatus is what may be shown of mod's git secrets: whether they are set.
type GitStatus struct {
	CredentialSet       bool   `json:"credential_set"`
	CredentialUsername  string `json:"credential_username,omitempty"`
	WebhookSecretSet    bool   `json:"webhook_secret_set"`
	SecretKeyConfigured bool   `json:"secret_key_configured"`
}

// Status reports which of mod's git secrets are set (MODIFY).
func (s *Service) Status(ctx context.Context, p *policies.Principal, mod *modules.Module) (GitStatus, error) {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return GitStatus{}, err
	}
	out := GitStatus{SecretKeyConfigured: s.sealer != nil}
	row, err := queries.New(s.db).GetModuleGitSecrets(ctx, mod.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, nil
	} else if err != nil {
		return out, err
	}
	out.CredentialSet = row.CredentialSealed != nil
	if row.CredentialUsername != nil && out.CredentialSet {
		out.CredentialUsername = *row.CredentialUsername
	}
	out.WebhookSecretSet = row.WebhookSecretSealed != nil
	return out, nil
}

// SetCredential stores (token "" removes) the HTTPS credential mod's
// repository is cloned with (MODIFY). The token is sealed and never shown
// or logged.
func (s *Service) SetCredential(ctx context.Context, p *policies.Principal, mod *modules.Module, username, token string) error {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return err
	}
	params := queries.SetModuleGitCredentialParams{ModuleID: mod.ID}
	if token != "" {
		if s.sealer == nil {
			return errNoKey
		}
		if len(token) > 4096 || len(username) > 256 {
			return errs.Field(errs.Invalid, "token", "The credential is too long")
		}
		params.CredentialSealed = s.sealer.seal([]byte(token), mod.ID, "credential")
		if username != "" {
			params.CredentialUsername = &username
		}
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := queries.New(tx).SetModuleGitCredential(ctx, params); err != nil {
			return err
		}
		action := "set_git_credential"
		if token == "" {
			action = "remove_git_credential"
		}
		return audit.Record(ctx, tx, p, action, "module_provider", mod.ID, nil,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System})
	})
}

// RegenerateWebhookSecret makes a new webhook secret for mod (MODIFY) and
// returns it: the only time it is shown.
func (s *Service) RegenerateWebhookSecret(ctx context.Context, p *policies.Principal, mod *modules.Module) (string, error) {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return "", err
	}
	if s.sealer == nil {
		return "", errNoKey
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret := hex.EncodeToString(b[:])
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if err := queries.New(tx).SetModuleWebhookSecret(ctx, queries.SetModuleWebhookSecretParams{ModuleID: mod.ID,
			WebhookSecretSealed: s.sealer.seal([]byte(secret), mod.ID, "webhook")}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, p, "regenerate_webhook_secret", "module_provider", mod.ID, nil,
			map[string]string{"module": mod.Namespace + "/" + mod.Name + "/" + mod.System})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// EnsureWebhookSecret generates mod's webhook secret when it has none
// (when its repository settings are first saved) and returns it with
// created true; an existing secret is never returned again. Without
// CAIRN_SECRET_KEY it does nothing.
func (s *Service) EnsureWebhookSecret(ctx context.Context, p *policies.Principal, mod *modules.Module) (secret string, created bool, err error) {
	if s.sealer == nil {
		return "", false, nil
	}
	st, err := s.Status(ctx, p, mod)
	if err != nil || st.WebhookSecretSet {
		return "", false, err
	}
	secret, err = s.RegenerateWebhookSecret(ctx, p, mod)
	return secret, err == nil, err
}

// ErrBadSignature refuses a webhook delivery: no such module provider, no
// webhook secret, or a signature (or token) that does not match. The three
// are not told apart.
var ErrBadSignature = errs.Field(errs.Unauthenticated, "signature", "Invalid webhook signature")

// HookTarget is the module provider a verified delivery was sent to.
type HookTarget struct {
	mod    *modules.Module
	format tagFormat
}

// VerifyHook finds module provider namespace/name/system and checks a
// delivery with verify, given its webhook secret; anything wrong is
// ErrBadSignature. Nothing is written.
func (s *Service) VerifyHook(ctx context.Context, namespace, name, sys string, verify func(secret []byte) bool) (*HookTarget, error) {
	mod, err := s.modules.Find(ctx, system, namespace, name, sys)
	if errs.Is(err, errs.NotFound) {
		return nil, ErrBadSignature
	} else if err != nil {
		return nil, err
	}
	if s.sealer == nil {
		return nil, ErrBadSignature
	}
	row, err := queries.New(s.db).GetModuleGitSecrets(ctx, mod.ID)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && row.WebhookSecretSealed == nil) {
		return nil, ErrBadSignature
	} else if err != nil {
		return nil, err
	}
	secret, err := s.sealer.open(row.WebhookSecretSealed, mod.ID, "webhook")
	if err != nil {
		s.log.Warn("a webhook secret cannot be opened", "module", mod.ID, "error", err)
		return nil, ErrBadSignature
	}
	if !verify(secret) {
		return nil, ErrBadSignature
	}
	format, err := parseTagFormat(mod.Settings.GitTagFormat)
	if err != nil {
		return nil, err
	}
	return &HookTarget{mod: mod, format: format}, nil
}

// Delivery is a verified webhook delivery, parsed by its surface.
type Delivery struct {
	Source string // github, gitlab, bitbucket
	ID     string // the delivery's id (a replay carries the same)
	Event  string
	// Tags are the tags the delivery created or released.
	Tags []string
	// Ignored says why a delivery names no tag to import.
	Ignored string
}

// DeliveryResult is what became of a delivery.
type DeliveryResult struct {
	ID       int64     `json:"id"`
	Outcome  string    `json:"outcome"` // queued, ignored
	Message  string    `json:"message,omitempty"`
	JobIDs   []int64   `json:"job_ids"`
	Tags     []string  `json:"tags"`
	Replayed bool      `json:"replayed,omitempty"`
	Event    string    `json:"event"`
	Source   string    `json:"source"`
	Received time.Time `json:"received_at"`
}

func deliveryOf(r queries.WebhookDelivery) DeliveryResult {
	return DeliveryResult{ID: r.ID, Outcome: r.Outcome, Message: r.Message, JobIDs: r.JobIds, Tags: r.Tags, Event: r.Event,
		Source: r.Source, Received: r.CreatedAt}
}

// maxDeliveryTags bounds the imports one delivery asks for.
const maxDeliveryTags = 20

// Deliver records a verified delivery and enqueues an import of each tag
// matching the module's tag format; a replay (same delivery id) is answered
// from the record and enqueues nothing.
func (s *Service) Deliver(ctx context.Context, t *HookTarget, d Delivery) (DeliveryResult, error) {
	if d.Tags == nil {
		d.Tags = []string{}
	}
	if len(d.Tags) > maxDeliveryTags {
		d.Tags = d.Tags[:maxDeliveryTags]
	}
	var out DeliveryResult
	var queued bool
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		q := queries.New(tx)
		row, err := q.InsertWebhookDelivery(ctx, queries.InsertWebhookDeliveryParams{ModuleID: t.mod.ID, Source: d.Source,
			DeliveryID: d.ID, Event: d.Event, Outcome: "received", Tags: d.Tags, JobIds: []int64{}})
		if errors.Is(err, pgx.ErrNoRows) {
			prev, err := q.GetWebhookDelivery(ctx, queries.GetWebhookDeliveryParams{ModuleID: t.mod.ID, Source: d.Source, DeliveryID: d.ID})
			if err != nil {
				return err
			}
			out = deliveryOf(prev)
			out.Replayed = true
			return nil
		} else if err != nil {
			return err
		}
		out = deliveryOf(row)
		out.JobIDs, out.Message = s.enqueueTags(ctx, tx, t, d.Source, d.Tags, &out.Outcome)
		if d.Ignored != "" && len(d.Tags) == 0 {
			out.Message = d.Ignored
		}
		queued = len(out.JobIDs) > 0
		return q.UpdateWebhookDelivery(ctx, queries.UpdateWebhookDeliveryParams{ID: row.ID, Outcome: out.Outcome,
			Message: out.Message, JobIds: out.JobIDs})
	})
	if err != nil {
		return DeliveryResult{}, err
	}
	if queued {
		s.jobs.Wake()
	}
	return out, nil
}

// enqueueTags enqueues an import of each tag matching the format; the
// outcome is queued when any was, else ignored, and the message says why
// tags were ignored.
func (s *Service) enqueueTags(ctx context.Context, tx pgx.Tx, t *HookTarget, source string, tags []string, outcome *string) ([]int64, string) {
	ids := []int64{}
	var msg string
	for _, tag := range tags {
		v, ok := t.format.version(tag)
		if !ok {
			msg = joinMsg(msg, fmt.Sprintf("tag %s does not match the git tag format %s", tag, t.format.format))
			continue
		}
		id := t.mod.ID
		j, err := s.jobs.EnqueueTx(ctx, tx, jobs.EnqueueInput{Kind: KindImport, ModuleID: &id, RequestedBy: "webhook:" + source,
			Args: importArgs{Tag: tag, Version: v, Requester: requester{Webhook: source}, ExistingOK: true}})
		if err != nil {
			msg = joinMsg(msg, fmt.Sprintf("tag %s: %v", tag, err))
			continue
		}
		ids = append(ids, j.ID)
	}
	*outcome = "ignored"
	if len(ids) > 0 {
		*outcome = "queued"
	}
	if len(tags) == 0 && msg == "" {
		msg = "the delivery names no tag"
	}
	return ids, msg
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Deliveries lists mod's recent webhook deliveries, newest first (MODIFY).
func (s *Service) Deliveries(ctx context.Context, p *policies.Principal, mod *modules.Module) ([]DeliveryResult, error) {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return nil, err
	}
	rows, err := queries.New(s.db).ListWebhookDeliveries(ctx, queries.ListWebhookDeliveriesParams{ModuleID: mod.ID, MaxRows: 50})
	if err != nil {
		return nil, err
	}
	out := make([]DeliveryResult, len(rows))
	for i, r := range rows {
		out[i] = deliveryOf(r)
	}
	return out, nil
}

// Redeliver runs a recorded delivery again (MODIFY): its tags are imported
// once more (an existing version is reported, not an error), recorded as a
// new delivery.
func (s *Service) Redeliver(ctx context.Context, p *policies.Principal, mod *modules.Module, id int64) (DeliveryResult, error) {
	if err := s.authz.Check(p, policies.UpdateModule, mod.Resource); err != nil {
		return DeliveryResult{}, err
	}
	prev, err := queries.New(s.db).GetWebhookDeliveryByID(ctx, queries.GetWebhookDeliveryByIDParams{ModuleID: mod.ID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return DeliveryResult{}, errs.Field(errs.NotFound, "delivery", "Webhook delivery does not exist")
	} else if err != nil {
		return DeliveryResult{}, err
	}
	format, err := parseTagFormat(mod.Settings.GitTagFormat)
	if err != nil {
		return DeliveryResult{}, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return s.Deliver(ctx, &HookTarget{mod: mod, format: format}, Delivery{Source: prev.Source,
		ID: fmt.Sprintf("redelivery:%d:%s", prev.ID, hex.EncodeToString(b[:])), Event: prev.Event + " (redelivered)", Tags: prev.Tags})
}
