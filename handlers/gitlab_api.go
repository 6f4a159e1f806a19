package handlers

import "github.com/gin-gonic/gin"

// registerGitLabAPI mounts the GitLab-compatible REST subset under /api/v4.
func registerGitLabAPI(api *gin.RouterGroup, d Deps) {
	_ = api
	_ = d
}
