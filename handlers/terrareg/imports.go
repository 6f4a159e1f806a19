package terrareg

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/jobs"
	"github.com/cairn-registry/cairn/modules"
	"github.com/cairn-registry/cairn/policies"
)

// Importer is what the git import endpoints consume (gitimport.Service).
type Importer interface {
	Import(ctx context.Context, p *policies.Principal, mod *modules.Module, in gitimport.ImportInput) (jobs.Job, error)
	Wait(ctx context.Context, id int64) (jobs.Job, error)
	Job(ctx context.Context, p *policies.Principal, mod *modules.Module, id int64) (jobs.Job, error)
	ListJobs(ctx context.Context, p *policies.Principal, mod *modules.Module) ([]jobs.Job, error)
	Status(ctx context.Context, p *policies.Principal, mod *modules.Module) (gitimport.GitStatus, error)
	SetCredential(ctx context.Context, p *policies.Principal, mod *modules.Module, username, token string) error
	RegenerateWebhookSecret(ctx context.Context, p *policies.Principal, mod *modules.Module) (string, error)
	Deliveries(ctx context.Context, p *policies.Principal, mod *modules.Module) ([]gitimport.DeliveryResult, error)
	Redeliver(ctx context.Context, p *policies.Principal, mod *modules.Module, id int64) (gitimport.DeliveryResult, error)
}

// terraregImports serves git-backed modules on Terrareg's paths: Terrareg's
// import endpoints (which wait for the import job and answer 200
// {"status":"Success"} or 400 {"message"}), and Cairn's own: the state of
// import jobs, the module provider's git credential and webhook secret,
// and its webhook deliveries. (The webhooks themselves are handlers/webhooks.)
type terraregImports struct {
	imp   Importer
	write *terraregWrite
	// wait bounds how long an import request waits for its job; after it
	// the answer is 202 with the job's id.
	wait time.Duration
}

// WithImports enables the git import endpoints (nil: not served).
func (a *API) WithImports(imp Importer) *API {
	if imp != nil {
		a.imports = &terraregImports{imp: imp, write: a.write, wait: 100 * time.Second}
		a.write.secrets, _ = imp.(webhookSecrets)
	}
	return a
}

func (t *terraregImports) register(r gin.IRouter, auth gin.HandlerFunc) {
	if t == nil {
		return
	}
	m := r.Group("/v1/terrareg/modules/:ns/:name/:provider", auth)
	m.POST("/import", t.importTag)
	m.POST("/:version/import", t.importVersion)
	m.GET("/imports", t.listJobs)
	m.GET("/imports/:job", t.job)
	m.GET("/git", t.status)
	m.POST("/git/credentials", t.setCredential)
	m.DELETE("/git/credentials", t.removeCredential)
	m.POST("/git/webhook_secret", t.regenerateSecret)
	m.GET("/hooks/deliveries", t.deliveries)
	m.POST("/hooks/deliveries/:delivery/redeliver", t.redeliver)
}

// importTag is POST .../import {"version"} or {"git_tag"} (MODIFY).
func (t *terraregImports) importTag(c *gin.Context) {
	var in struct {
		Version string `json:"version"`
		GitTag  string `json:"git_tag"`
	}
	if !body(c, &in) {
		return
	}
	t.run(c, gitimport.ImportInput{Version: in.Version, GitTag: in.GitTag})
}

// importVersion is Terrareg's deprecated POST .../:version/import.
func (t *terraregImports) importVersion(c *gin.Context) {
	t.run(c, gitimport.ImportInput{Version: c.Param("version")})
}

func (t *terraregImports) run(c *gin.Context, in gitimport.ImportInput) {
	mod, ok := t.write.provider(c, policies.PublishPackage)
	if !ok {
		return
	}
	job, err := t.imp.Import(c.Request.Context(), middleware.Principal(c), mod, in)
	if err != nil {
		writeRefusal(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), t.wait)
	defer cancel()
	job, err = t.imp.Wait(ctx, job.ID)
	switch {
	case err != nil && !job.Done() && job.ID != 0:
		c.JSON(http.StatusAccepted, gin.H{"status": "Queued", "job_id": job.ID,
			"message": "The import is still running; follow it at .../imports/" + strconv.FormatInt(job.ID, 10)})
	case err != nil:
		writeModuleError(c, err)
	case job.State == jobs.Succeeded:
		trmSuccess(c)
	default:
		badRequest(c, job.Error)
	}
}

// jobBody is an import job's state.
func jobBody(j jobs.Job) gin.H {
	return gin.H{"id": j.ID, "kind": j.Kind, "state": j.State, "attempts": j.Attempts, "max_attempts": j.MaxAttempts,
		"error": j.Error, "result": j.Result, "requested_by": j.RequestedBy, "created_at": j.CreatedAt,
		"started_at": j.StartedAt, "finished_at": j.FinishedAt}
}

// listJobs is GET .../imports: the module provider's recent import jobs.
func (t *terraregImports) listJobs(c *gin.Context) {
	mod, ok := t.write.provider(c, "")
	if !ok {
		return
	}
	list, err := t.imp.ListJobs(c.Request.Context(), middleware.Principal(c), mod)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := make([]gin.H, len(list))
	for i, j := range list {
		out[i] = jobBody(j)
	}
	c.JSON(http.StatusOK, out)
}

// job is GET .../imports/:job.
func (t *terraregImports) job(c *gin.Context) {
	mod, ok := t.write.provider(c, "")
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("job"), 10, 64)
	if err != nil {
		notFound(c)
		return
	}
	j, err := t.imp.Job(c.Request.Context(), middleware.Principal(c), mod, id)
	if errs.Is(err, errs.NotFound) {
		notFound(c)
		return
	} else if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, jobBody(j))
}

// status is GET .../git (MODIFY): which git secrets are set.
func (t *terraregImports) status(c *gin.Context) {
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	st, err := t.imp.Status(c.Request.Context(), middleware.Principal(c), mod)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

// setCredential is POST .../git/credentials {"username","token"}
// (MODIFY): the HTTPS token the repository is cloned with, stored sealed
// and never shown again. 400 when CAIRN_SECRET_KEY is not set.
func (t *terraregImports) setCredential(c *gin.Context) {
	var in struct {
		Username string `json:"username"`
		Token    string `json:"token"`
	}
	if !body(c, &in) {
		return
	}
	if in.Token == "" {
		badRequest(c, "token is required (DELETE removes the credential)")
		return
	}
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	if err := t.imp.SetCredential(c.Request.Context(), middleware.Principal(c), mod, in.Username, in.Token); err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// removeCredential is DELETE .../git/credentials (MODIFY).
func (t *terraregImports) removeCredential(c *gin.Context) {
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	if err := t.imp.SetCredential(c.Request.Context(), middleware.Principal(c), mod, "", ""); err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// regenerateSecret is POST .../git/webhook_secret (MODIFY): a new webhook
// secret, shown this once.
func (t *terraregImports) regenerateSecret(c *gin.Context) {
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	secret, err := t.imp.RegenerateWebhookSecret(c.Request.Context(), middleware.Principal(c), mod)
	if err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"webhook_secret": secret})
}

// deliveries is GET .../hooks/deliveries (MODIFY).
func (t *terraregImports) deliveries(c *gin.Context) {
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	list, err := t.imp.Deliveries(c.Request.Context(), middleware.Principal(c), mod)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	c.JSON(http.StatusOK, list)
}

// redeliver is POST .../hooks/deliveries/:delivery/redeliver (MODIFY).
func (t *terraregImports) redeliver(c *gin.Context) {
	mod, ok := t.write.provider(c, policies.UpdateModule)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(c.Param("delivery"), 10, 64)
	if err != nil {
		notFound(c)
		return
	}
	res, err := t.imp.Redeliver(c.Request.Context(), middleware.Principal(c), mod, id)
	if err != nil {
		writeRefusal(c, err)
		return
	}
	c.JSON(http.StatusAccepted, res)
}
