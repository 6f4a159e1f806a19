// Package webhooks serves the repository webhooks of git-backed module
// providers, on Terrareg's paths:
//
//	POST /v1/terrareg/modules/:ns/:name/:provider/hooks/github     X-Hub-Signature-256; release (published) and tag push events
//	POST /v1/terrareg/modules/:ns/:name/:provider/hooks/gitlab     X-Gitlab-Token; Tag Push Hook events
//	POST /v1/terrareg/modules/:ns/:name/:provider/hooks/bitbucket  X-Hub-Signature; repo:refs_changed (and Cloud's repo:push)
//
// Every delivery is verified against the module provider's webhook secret
// before anything from its body is read into the database; unlike
// Terrareg, an unsigned delivery is always refused. A refused delivery is
// 401 and leaves no trace. A verified one is recorded (id, event, outcome)
// and each new tag matching the module's git tag format is imported by a
// background job: 202 with the job ids. Other deliveries are answered 200
// with the reason they were ignored; a replayed delivery (same id) is
// answered from its record and imports nothing again.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/gitimport"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// maxBody bounds a delivery's body.
const maxBody = 5 << 20

// Hooks is what the webhooks consume (gitimport.Service).
type Hooks interface {
	VerifyHook(ctx context.Context, namespace, name, system string, verify func(secret []byte) bool) (*gitimport.HookTarget, error)
	Deliver(ctx context.Context, t *gitimport.HookTarget, d gitimport.Delivery) (gitimport.DeliveryResult, error)
}

// API is the webhook surface.
type API struct{ hooks Hooks }

// New returns the webhook surface (nil hooks: no routes).
func New(hooks Hooks) *API { return &API{hooks: hooks} }

// Register mounts the webhook routes. They authenticate by signature, not
// by token: no credential middleware runs.
func (a *API) Register(r gin.IRouter) {
	if a.hooks == nil {
		return
	}
	g := r.Group("/v1/terrareg/modules/:ns/:name/:provider/hooks")
	g.POST("/github", a.handle("github", verifyGitHub, parseGitHub))
	g.POST("/gitlab", a.handle("gitlab", verifyGitLab, parseGitLab))
	g.POST("/bitbucket", a.handle("bitbucket", verifyBitbucket, parseBitbucket))
}

type verifier func(h http.Header, body, secret []byte) bool

// parser reads a verified delivery: its event, id and tags.
type parser func(h http.Header, body []byte) (gitimport.Delivery, error)

func (a *API) handle(source string, verify verifier, parse parser) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxBody+1))
		if err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "The delivery could not be read"})
			return
		}
		if len(body) > maxBody {
			c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"message": "The delivery is too large"})
			return
		}
		target, err := a.hooks.VerifyHook(c.Request.Context(), c.Param("ns"), c.Param("name"), c.Param("provider"),
			func(secret []byte) bool { return verify(c.Request.Header, body, secret) })
		if err != nil {
			writeError(c, err)
			return
		}
		d, err := parse(c.Request.Header, body)
		if err != nil {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": "The delivery's body is not valid: " + err.Error()})
			return
		}
		d.Source = source
		if d.ID == "" {
			// No delivery id: the body's digest makes an exact replay
			// recognisable all the same.
			sum := sha256.Sum256(body)
			d.ID = "sha256:" + hex.EncodeToString(sum[:])
		}
		if len(d.ID) > 200 {
			d.ID = d.ID[:200]
		}
		res, err := a.hooks.Deliver(c.Request.Context(), target, d)
		if err != nil {
			writeError(c, err)
			return
		}
		status := http.StatusOK
		label := "Ignored"
		switch {
		case res.Replayed:
			label = "Replayed"
		case res.Outcome == "queued":
			status, label = http.StatusAccepted, "Queued"
		}
		c.JSON(status, gin.H{"status": label, "delivery": res.ID, "job_ids": res.JobIDs, "tags": res.Tags,
			"message": res.Message, "outcome": res.Outcome})
	}
}

func writeError(c *gin.Context, err error) {
	switch errs.KindOf(err) {
	case errs.Unauthenticated:
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"message": errs.Message(err)})
	case errs.Invalid:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": errs.Message(err)})
	case errs.Unavailable:
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"message": "Service Unavailable: try again shortly"})
	default:
		middleware.Logger(c).Error("webhook delivery failed", "error", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"message": "Internal Server Error", "request_id": middleware.ID(c)})
	}
}

// checkHMAC compares "<algo>=<hex>" with the HMAC of body under secret.
func checkHMAC(header string, body, secret []byte) bool {
	algo, sig, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return false
	}
	var h func() hash.Hash
	switch algo {
	case "sha256":
		h = sha256.New
	case "sha1":
		h = sha1.New
	default:
		return false
	}
	want, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	m := hmac.New(h, secret)
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}

// verifyGitHub checks X-Hub-Signature-256 (SHA-256 only).
func verifyGitHub(h http.Header, body, secret []byte) bool {
	s := h.Get("X-Hub-Signature-256")
	return strings.HasPrefix(s, "sha256=") && checkHMAC(s, body, secret)
}

// verifyGitLab compares X-Gitlab-Token with the secret in constant time.
func verifyGitLab(h http.Header, _, secret []byte) bool {
	tok := h.Get("X-Gitlab-Token")
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), secret) == 1
}

// verifyBitbucket checks X-Hub-Signature (sha256=..., as Bitbucket Cloud
// and Data Center send it).
func verifyBitbucket(h http.Header, body, secret []byte) bool {
	s := h.Get("X-Hub-Signature")
	return strings.HasPrefix(s, "sha256=") && checkHMAC(s, body, secret)
}

const zeroSHA = "0000000000000000000000000000000000000000"

func parseGitHub(h http.Header, body []byte) (gitimport.Delivery, error) {
	d := gitimport.Delivery{ID: h.Get("X-GitHub-Delivery"), Event: h.Get("X-GitHub-Event")}
	switch d.Event {
	case "release":
		var p struct {
			Action  string `json:"action"`
			Release struct {
				TagName string `json:"tag_name"`
			} `json:"release"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return d, err
		}
		d.Event += ":" + p.Action
		if p.Action != "published" {
			d.Ignored = "release action " + p.Action + " is not imported (only published)"
			return d, nil
		}
		if p.Release.TagName == "" {
			return d, errors.New("the release names no tag")
		}
		d.Tags = []string{p.Release.TagName}
	case "push":
		var p struct {
			Ref     string `json:"ref"`
			After   string `json:"after"`
			Deleted bool   `json:"deleted"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return d, err
		}
		tag, ok := strings.CutPrefix(p.Ref, "refs/tags/")
		switch {
		case !ok:
			d.Ignored = "the push is not a tag push"
		case p.Deleted || p.After == zeroSHA:
			d.Ignored = "the tag " + tag + " was deleted"
		default:
			d.Tags = []string{tag}
		}
	case "ping":
		d.Ignored = "ping"
	default:
		d.Ignored = "event " + d.Event + " is not imported"
	}
	return d, nil
}

func parseGitLab(h http.Header, body []byte) (gitimport.Delivery, error) {
	d := gitimport.Delivery{ID: h.Get("X-Gitlab-Event-UUID"), Event: h.Get("X-Gitlab-Event")}
	if d.ID == "" {
		d.ID = h.Get("Idempotency-Key")
	}
	var p struct {
		ObjectKind string `json:"object_kind"`
		Ref        string `json:"ref"`
		After      string `json:"after"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return d, err
	}
	if d.Event == "" {
		d.Event = p.ObjectKind
	}
	if p.ObjectKind != "tag_push" {
		d.Ignored = "event " + d.Event + " is not imported (only Tag Push Hook)"
		return d, nil
	}
	tag, ok := strings.CutPrefix(p.Ref, "refs/tags/")
	switch {
	case !ok:
		d.Ignored = "the push is not a tag push"
	case p.After == zeroSHA:
		d.Ignored = "the tag " + tag + " was deleted"
	default:
		d.Tags = []string{tag}
	}
	return d, nil
}

func parseBitbucket(h http.Header, body []byte) (gitimport.Delivery, error) {
	d := gitimport.Delivery{ID: h.Get("X-Request-Id"), Event: h.Get("X-Event-Key")}
	if d.ID == "" {
		d.ID = h.Get("X-Request-UUID")
	}
	var p struct {
		// Bitbucket Data Center (repo:refs_changed).
		Changes []struct {
			Ref struct {
				ID        string `json:"id"`
				DisplayID string `json:"displayId"`
				Type      string `json:"type"`
			} `json:"ref"`
			Type string `json:"type"`
		} `json:"changes"`
		// Bitbucket Cloud (repo:push).
		Push struct {
			Changes []struct {
				New *struct {
					Type string `json:"type"`
					Name string `json:"name"`
				} `json:"new"`
			} `json:"changes"`
		} `json:"push"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return d, err
	}
	switch d.Event {
	case "repo:refs_changed", "repo:push", "":
	default:
		d.Ignored = "event " + d.Event + " is not imported (only repo:refs_changed)"
		return d, nil
	}
	for _, ch := range p.Changes {
		if ch.Ref.Type != "TAG" || (ch.Type != "ADD" && ch.Type != "UPDATE") {
			continue
		}
		tag := ch.Ref.DisplayID
		if tag == "" {
			tag = strings.TrimPrefix(ch.Ref.ID, "refs/tags/")
		}
		d.Tags = append(d.Tags, tag)
	}
	for _, ch := range p.Push.Changes {
		if ch.New != nil && ch.New.Type == "tag" && ch.New.Name != "" {
			d.Tags = append(d.Tags, ch.New.Name)
		}
	}
	if len(d.Tags) == 0 {
		d.Ignored = "the delivery adds no tag"
	}
	return d, nil
}
