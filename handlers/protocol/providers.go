package protocol

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/blobs"
	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/policies"
	"github.com/cairn-registry/cairn/providers"
)

// Mounts of the provider protocol: Terraform's providers.v1 (advertised by
// discovery), Terraform Enterprise's mount, and the provider network mirror
// (configured by users: provider_installation { network_mirror { url =
// "https://<host>/v1/mirror/" } }).
//
// https://developer.hashicorp.com/terraform/internals/provider-registry-protocol
// https://developer.hashicorp.com/terraform/internals/provider-network-mirror-protocol
const (
	ProvidersV1Base    = "/v1/providers"
	TFEProvidersV1Base = "/api/registry/v1/providers"
	MirrorBase         = "/v1/mirror"
)

// WithProviders adds the provider protocols, the network mirror and the
// signed provider files to the surface.
func (a *API) WithProviders(svc *providers.Service) *API {
	a.providers = svc
	return a
}

func (a *API) registerProviders(r gin.IRouter, auth gin.HandlerFunc) {
	for _, base := range []string{ProvidersV1Base, TFEProvidersV1Base} {
		g := r.Group(base, auth)
		g.GET("/:ns/:name/versions", a.providerVersions)
		g.GET("/:ns/:name/:version/download/:os/:arch", a.providerDownload)
	}
	m := r.Group(MirrorBase, auth)
	m.GET("/:host/:ns/:name/:file", a.mirror)
	// The files: authorised by the signed token in the URL only (terraform
	// sends no credentials here), GET and HEAD.
	r.GET(providers.FilesPath+"/:blob/:filename", a.providerFile)
	r.HEAD(providers.FilesPath+"/:blob/:filename", a.providerFile)
}

func (a *API) findProvider(c *gin.Context) (*providers.Provider, bool) {
	pr, err := a.providers.Find(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("name"))
	if err != nil {
		writeError(c, err)
		return nil, false
	}
	return pr, true
}

type platformRef struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// providerVersions lists the complete versions, newest first.
func (a *API) providerVersions(c *gin.Context) {
	pr, ok := a.findProvider(c)
	if !ok {
		return
	}
	list := []gin.H{}
	for _, v := range pr.CompleteVersions() {
		plats := []platformRef{}
		for _, p := range v.UploadedPlatforms() {
			plats = append(plats, platformRef{OS: p.OS, Arch: p.Arch})
		}
		list = append(list, gin.H{"version": v.Version, "protocols": v.Protocols, "platforms": plats})
	}
	c.JSON(http.StatusOK, gin.H{"id": pr.Namespace + "/" + pr.Name, "versions": list, "warnings": nil})
}

// providerDownload describes one platform's package: signed, short-lived
// URLs for the zip, SHA256SUMS and its signature, and the signing key.
func (a *API) providerDownload(c *gin.Context) {
	pr, ok := a.findProvider(c)
	if !ok {
		return
	}
	v, ok := pr.Version(c.Param("version"))
	if !ok || !v.Complete() {
		writeError(c, errs.ErrNotFound)
		return
	}
	pl, ok := v.Platform(c.Param("os"), c.Param("arch"))
	if !ok || !pl.Uploaded() {
		writeError(c, errs.ErrNotFound)
		return
	}
	key, found, err := a.providers.SigningKey(c.Request.Context(), pr, v)
	if err != nil {
		writeError(c, err)
		return
	}
	// Written by hand, as encoding/json would write downloadResponse: the
	// armoured key is encoded once per cached key, the signed URLs are
	// appended in place.
	p := middleware.Principal(c)
	bp := downloadBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if n := len(key.ArmorJSON()) + 1024; cap(b) < n {
		b = make([]byte, 0, n)
	}
	prefix := "terraform-provider-" + pr.Name + "_" + v.Version
	b = appendDownload(b, v.Protocols, pl.OS, pl.Arch, pl.Filename, pl.Sha256, func(b []byte, i int) []byte {
		switch i {
		case 0:
			return a.appendFileURL(b, p, *pl.BlobKey, pl.Filename)
		case 1:
			return a.appendFileURL(b, p, *v.ShasumsBlobKey, prefix+"_SHA256SUMS")
		}
		return a.appendFileURL(b, p, *v.ShasumsSigBlobKey, prefix+"_SHA256SUMS.sig")
	}, key, found)
	h := c.Writer.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	c.Writer.WriteHeader(http.StatusOK)
	c.Writer.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		downloadBufs.Put(bp)
	}
}

var (
	downloadBufs    = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}
	jsonContentType = []string{"application/json; charset=utf-8"}
)

// appendDownload appends the download response (downloadResponse as
// encoding/json writes it); url(b, i) appends the i-th URL (the zip,
// SHA256SUMS, its signature) as a JSON string.
func appendDownload(b []byte, protocols []string, os, arch, filename, shasum string, url func(b []byte, i int) []byte, key providers.Key, found bool) []byte {
	b = append(b, `{"protocols":`...)
	if protocols == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, proto := range protocols {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, proto)
		}
		b = append(b, ']')
	}
	b = append(b, `,"os":`...)
	b = appendJSONString(b, os)
	b = append(b, `,"arch":`...)
	b = appendJSONString(b, arch)
	b = append(b, `,"filename":`...)
	b = appendJSONString(b, filename)
	b = append(b, `,"download_url":`...)
	b = url(b, 0)
	b = append(b, `,"shasums_url":`...)
	b = url(b, 1)
	b = append(b, `,"shasums_signature_url":`...)
	b = url(b, 2)
	b = append(b, `,"shasum":`...)
	b = appendJSONString(b, shasum)
	b = append(b, `,"signing_keys":{"gpg_public_keys":[`...)
	if found {
		b = append(b, `{"key_id":`...)
		b = appendJSONString(b, key.KeyID)
		b = append(b, `,"ascii_armor":`...)
		b = append(b, key.ArmorJSON()...)
		b = append(b, `,"trust_signature":"","source":"","source_url":null}`...)
	}
	return append(b, "]}}"...)
}

// appendFileURL appends a signed file URL as a JSON string.
func (a *API) appendFileURL(b []byte, p *policies.Principal, blobKey, filename string) []byte {
	b = append(b, '"')
	start := len(b)
	b = a.providers.AppendFileURL(b, p, blobKey, filename)
	if !jsonSafe(b[start:]) {
		u := string(b[start:])
		return appendJSONString(b[:start-1], u)
	}
	return append(b, '"')
}

// appendJSONString appends s as encoding/json encodes it (HTML-escaped).
func appendJSONString(b []byte, s string) []byte {
	if jsonSafe(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	enc, _ := json.Marshal(s)
	return append(b, enc...)
}

// jsonSafe reports whether s is printable ASCII that encoding/json writes
// as is between quotes.
func jsonSafe[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if !jsonSafeByte[s[i]] {
			return false
		}
	}
	return true
}

var jsonSafeByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

type gpgPublicKey struct {
	KeyID          string  `json:"key_id"`
	ASCIIArmor     string  `json:"ascii_armor"`
	TrustSignature string  `json:"trust_signature"`
	Source         string  `json:"source"`
	SourceURL      *string `json:"source_url"`
}

type downloadResponse struct {
	Protocols           []string `json:"protocols"`
	OS                  string   `json:"os"`
	Arch                string   `json:"arch"`
	Filename            string   `json:"filename"`
	DownloadURL         string   `json:"download_url"`
	ShasumsURL          string   `json:"shasums_url"`
	ShasumsSignatureURL string   `json:"shasums_signature_url"`
	Shasum              string   `json:"shasum"`
	SigningKeys         struct {
		GPGPublicKeys []gpgPublicKey `json:"gpg_public_keys"`
	} `json:"signing_keys"`
}

// mirror serves the network mirror protocol: index.json lists complete
// versions, <version>.json their archives with h1: and zh: hashes. The
// hostname segment is the provider source's host: Cairn mirrors its own
// providers, whatever name the configuration gives this host.
func (a *API) mirror(c *gin.Context) {
	pr, ok := a.findProvider(c)
	if !ok {
		return
	}
	file := c.Param("file")
	if file == "index.json" {
		vs := gin.H{}
		for _, v := range pr.CompleteVersions() {
			vs[v.Version] = gin.H{}
		}
		c.JSON(http.StatusOK, gin.H{"versions": vs})
		return
	}
	ver, isJSON := strings.CutSuffix(file, ".json")
	v, found := pr.Version(ver)
	if !isJSON || !found || !v.Complete() {
		writeError(c, errs.ErrNotFound)
		return
	}
	archives := gin.H{}
	p := middleware.Principal(c)
	for _, pl := range v.UploadedPlatforms() {
		archives[pl.OS+"_"+pl.Arch] = gin.H{"url": a.providers.FileURL(p, *pl.BlobKey, pl.Filename),
			"hashes": []string{pl.H1, "zh:" + pl.Sha256}}
	}
	c.JSON(http.StatusOK, gin.H{"archives": archives})
}

// providerFile serves a file to holders of a valid signed token (GET may be
// redirected to a presigned object-store URL; HEAD is answered here).
func (a *API) providerFile(c *gin.Context) {
	defer middleware.CountDownload(c)
	key, err := a.providers.File(c.Request.Context(), c.Param("blob"), c.Query("token"))
	if err != nil {
		writeFileError(c, err)
		return
	}
	name := c.Param("filename")
	if c.Request.Method == http.MethodGet {
		u, err := a.providers.Blobs().PresignGet(c.Request.Context(), key, time.Minute, name)
		if err == nil {
			c.Redirect(http.StatusFound, u)
			return
		}
		if !errors.Is(err, blobs.ErrPresignUnsupported) {
			writeError(c, err)
			return
		}
	}
	obj, info, err := a.providers.Blobs().Get(c.Request.Context(), key)
	if errors.Is(err, blobs.ErrNotFound) {
		writeFileError(c, errs.ErrNotFound)
		return
	} else if err != nil {
		writeError(c, err)
		return
	}
	defer obj.Close()
	middleware.ServeBlob(c, obj, info.ModTime, name, "")
}
