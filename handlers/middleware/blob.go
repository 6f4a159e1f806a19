package middleware

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/blobs"
)

// ServeBlob streams a stored object as a download named filename (Range
// and HEAD through http.ServeContent); sha256 is announced when known.
func ServeBlob(c *gin.Context, obj blobs.Object, modTime time.Time, filename, sha256 string) {
	c.Header("Content-Type", "application/octet-stream")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, filename))
	if sha256 != "" {
		c.Header("X-Checksum-Sha256", sha256)
	}
	c.Header("Cache-Control", "private, no-store")
	http.ServeContent(c.Writer, c.Request, "", modTime, obj)
}
