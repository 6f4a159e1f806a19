// Package tokens mints, hashes and resolves every kind of credential:
// personal access tokens, deploy tokens and CI job tokens (OIDC ID tokens
// verified against a project's trust rules), and signs short-lived download
// URLs. Secrets are stored only as SHA-256 hashes and carry a recognisable
// prefix so leaked ones can be found by scanners.
package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
)

// Token prefixes.
const (
	PATPrefix    = "cairnpat-"
	DeployPrefix = "cairndt-"
)

// Errors.
var (
	// ErrMultipleCredentials: the request carried more than one credential.
	ErrMultipleCredentials = errors.New("Found more than one set of credentials")
	// ErrInvalidCredentials: a credential was present but is unknown,
	// malformed, expired, revoked or belongs to a blocked user.
	ErrInvalidCredentials = errors.New("invalid credentials")
)

// Source says where a credential was found.
type Source int

// Credential sources.
const (
	None Source = iota
	PrivateTokenHeader
	DeployTokenHeader
	JobTokenHeader
	Bearer
	Basic
	TerraregAPIKey
)

// Credential is what a request presented, not yet checked.
type Credential struct {
	Source   Source
	Secret   string
	Username string // HTTP Basic only
}

// JobTokenUsername is the Basic-auth user name that marks a job token.
const JobTokenUsername = "gitlab-ci-token"

// Extract finds the request's credential, the one place every surface reads
// them from: PRIVATE-TOKEN, DEPLOY-TOKEN, JOB-TOKEN, X-Terrareg-ApiKey,
// Authorization: Bearer or Basic. More than one → ErrMultipleCredentials;
// none → Source None.
func Extract(h http.Header) (Credential, error) {
	var found []Credential
	for _, c := range []struct {
		header string
		source Source
	}{
		{"Private-Token", PrivateTokenHeader},
		{"Deploy-Token", DeployTokenHeader},
		{"Job-Token", JobTokenHeader},
		{"X-Terrareg-Apikey", TerraregAPIKey},
	} {
		if v := strings.TrimSpace(h.Get(c.header)); v != "" {
			found = append(found, Credential{Source: c.source, Secret: v})
		}
	}
	if auth := strings.TrimSpace(h.Get("Authorization")); auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToLower(scheme) {
		case "bearer":
			found = append(found, Credential{Source: Bearer, Secret: rest})
		case "basic":
			raw, err := base64.StdEncoding.DecodeString(rest)
			if err != nil {
				return Credential{}, ErrInvalidCredentials
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok || pass == "" {
				return Credential{}, ErrInvalidCredentials
			}
			found = append(found, Credential{Source: Basic, Secret: pass, Username: user})
		default:
			return Credential{}, ErrInvalidCredentials
		}
	}
	switch len(found) {
	case 0:
		return Credential{}, nil
	case 1:
		if found[0].Secret == "" {
			return Credential{}, ErrInvalidCredentials
		}
		return found[0], nil
	}
	return Credential{}, ErrMultipleCredentials
}

// Hash is how a token is stored and looked up.
func Hash(secret string) []byte {
	s := sha256.Sum256([]byte(secret))
	return s[:]
}

// mint returns a new random token with prefix and the prefix+first chars
// kept for display.
func mint(prefix string) (secret, display string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	secret = prefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, secret[:len(prefix)+4]
}

// NewPAT mints a personal access token: the secret (shown once) and the
// short prefix kept for display.
func NewPAT() (secret, display string) { return mint(PATPrefix) }

// NewDeployToken mints a deploy token.
func NewDeployToken() (secret, display string) { return mint(DeployPrefix) }
