package terrareg

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/handlers/middleware"
)

// Terrareg's module analytics (modules/analytics.go records them):
// submissions, the latest version per analytics token, global usage.
// https://github.com/MatthewJohn/terrareg
// (terrareg/server/api/terrareg_module_version_analytics.py,
// terrareg_module_provider_analytics_token_versions.py,
// terrareg_global_usage_stats.py)

func (t *terraregModules) registerAnalytics(r gin.IRouter, auth gin.HandlerFunc) {
	g := r.Group("/v1/terrareg/analytics", auth)
	g.GET("/global/usage_stats", t.usageStats)
	g.GET("/:ns/:name/:provider/token_versions", t.tokenVersions)
	g.POST("/:ns/:name/:provider/:version", t.submitAnalytics)
}

// submitAnalytics is POST /v1/terrareg/analytics/:ns/:name/:provider/:version
// {"analytics_token", "terraform_version"}: records a use of the version,
// as a download through a token-prefixed source does. {} on success; a
// missing version is Terrareg's 404, a missing (or the example) token its
// 400 {"errors":["Invalid analytics token"]}.
func (t *terraregModules) submitAnalytics(c *gin.Context) {
	mod, ok := t.find(c)
	if !ok {
		return
	}
	var in struct {
		AnalyticsToken   *string `json:"analytics_token"`
		TerraformVersion *string `json:"terraform_version"`
	}
	if !body(c, &in) {
		return
	}
	if in.AnalyticsToken == nil {
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"message": gin.H{"analytics_token": "Analytics token to register."}})
		return
	}
	tfVersion := ""
	if in.TerraformVersion != nil {
		tfVersion = *in.TerraformVersion
	}
	err := t.svc.SubmitAnalytics(middleware.Principal(c), mod, c.Param("version"), *in.AnalyticsToken, tfVersion)
	switch {
	case err == nil:
		c.JSON(http.StatusOK, gin.H{})
	case errs.KindOf(err) == errs.NotFound:
		trmNotFound(c)
	case errs.KindOf(err) == errs.Invalid:
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"errors": []string{"Invalid analytics token"}})
	default:
		writeModuleError(c, err)
	}
}

// trmTokenVersion is one analytics token's latest use.
type trmTokenVersion struct {
	TerraformVersion string `json:"terraform_version"`
	ModuleVersion    string `json:"module_version"`
	Environment      string `json:"environment"`
}

// tokenVersions is GET .../analytics/:ns/:name/:provider/token_versions:
// {token: {"terraform_version", "module_version", "environment"}}, the
// version each analytics token used last ("No token provided" for uses
// without one; an unknown Terraform version is "0.0.0"), as Terrareg
// answers without analytics auth keys.
func (t *terraregModules) tokenVersions(c *gin.Context) {
	mod, ok := t.find(c)
	if !ok {
		return
	}
	list, err := t.svc.TokenVersions(c.Request.Context(), mod)
	if err != nil {
		writeModuleError(c, err)
		return
	}
	out := map[string]trmTokenVersion{}
	for _, tv := range list {
		token := tv.Token
		if token == "" {
			token = "No token provided"
		}
		if _, seen := out[token]; seen {
			continue // one environment per token: Terrareg keeps the first
		}
		tf := tv.TerraformVersion
		if tf == "" {
			tf = "0.0.0"
		}
		out[token] = trmTokenVersion{TerraformVersion: tf, ModuleVersion: tv.ModuleVersion, Environment: tv.Environment}
	}
	c.JSON(http.StatusOK, out)
}

// usageStats is GET /v1/terrareg/analytics/global/usage_stats over the
// modules the caller may read: how many module providers, and per module
// the distinct analytics tokens that used its published releases. Cairn
// has no analytics auth keys, so the "with_auth_token" figures are empty,
// as Terrareg's are without them.
func (t *terraregModules) usageStats(c *gin.Context) {
	st, err := t.svc.UsageStats(c.Request.Context(), middleware.Principal(c))
	if err != nil {
		writeModuleError(c, err)
		return
	}
	var total int64
	for _, n := range st.Tokens {
		total += n
	}
	c.JSON(http.StatusOK, gin.H{
		"module_provider_count":                                  st.ModuleProviders,
		"module_provider_usage_breakdown_with_auth_token":        map[string]int64{},
		"module_provider_usage_count_with_auth_token":            0,
		"module_provider_usage_including_empty_auth_token":       st.Tokens,
		"module_provider_usage_count_including_empty_auth_token": total,
	})
}
