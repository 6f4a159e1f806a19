package tfe

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
	"github.com/cairn-registry/cairn/providers"
)

func keyJSON(k providers.Key) gin.H {
	return gin.H{"type": "gpg-keys", "id": strconv.FormatInt(k.ID, 10), "attributes": gin.H{
		"ascii-armor": k.ASCIIArmor, "key-id": k.KeyID, "namespace": k.Namespace,
		"source": "", "source-url": nil, "trust-signature": "",
		// go-tfe parses these as RFC 3339 with a Z: no offset.
		"created-at": stamp(k.CreatedAt), "updated-at": stamp(k.UpdatedAt)},
		"links": gin.H{"self": GPGKeysBase + "/" + k.Namespace + "/" + k.KeyID}}
}

func (a *API) createKey(c *gin.Context) {
	var attrs struct {
		Namespace  string `json:"namespace"`
		ASCIIArmor string `json:"ascii-armor"`
	}
	if !decode(c, "gpg-keys", &attrs) {
		return
	}
	k, err := a.providers.AddKey(c.Request.Context(), middleware.Principal(c), attrs.Namespace, attrs.ASCIIArmor)
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusCreated, gin.H{"data": keyJSON(k)})
}

func (a *API) readKey(c *gin.Context) {
	k, err := a.providers.Key(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("key"))
	if err != nil {
		writeError(c, err)
		return
	}
	write(c, http.StatusOK, gin.H{"data": keyJSON(k)})
}

func (a *API) deleteKey(c *gin.Context) {
	if err := a.providers.DeleteKey(c.Request.Context(), middleware.Principal(c), c.Param("ns"), c.Param("key")); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// listKeys lists the keys of filter[namespace] (comma-separated).
func (a *API) listKeys(c *gin.Context) {
	var names []string
	for _, n := range strings.Split(c.Query("filter[namespace]"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	keys, err := a.providers.Keys(c.Request.Context(), middleware.Principal(c), names)
	if err != nil {
		writeError(c, err)
		return
	}
	items, meta := paginate(c, keys)
	data := []gin.H{}
	for _, k := range items {
		data = append(data, keyJSON(k))
	}
	write(c, http.StatusOK, gin.H{"data": data, "meta": meta})
}
