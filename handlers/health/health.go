// Package health serves /healthz (the process answers) and /readyz (its
// dependencies answer), for load balancers and orchestrators.
package health

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/handlers/middleware"
)

// Pinger is anything readiness depends on (the database, the blob store).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Register mounts the probes; ready lists the dependencies /readyz checks.
func Register(r gin.IRouter, ready map[string]Pinger) {
	r.GET("/healthz", healthz)
	r.HEAD("/healthz", healthz)
	r.GET("/readyz", readyz(ready))
	r.HEAD("/readyz", readyz(ready))
}

// healthz answers as long as the process serves requests.
func healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz checks every dependency with a short deadline; 503 names the ones
// that failed so an operator sees which.
func readyz(deps map[string]Pinger) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		checks := gin.H{}
		status := http.StatusOK
		for name, p := range deps {
			if err := p.Ping(ctx); err != nil {
				middleware.Logger(c).Warn("readiness check failed", "dependency", name, "error", err)
				checks[name] = "unavailable"
				status = http.StatusServiceUnavailable
			} else {
				checks[name] = "ok"
			}
		}
		word := "ok"
		if status != http.StatusOK {
			word = "unavailable"
		}
		c.JSON(status, gin.H{"status": word, "checks": checks})
	}
}
