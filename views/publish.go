package views

import "net/url"

// uploadURL is the upload endpoint of the project's example module, with
// the version left to the shell variable tagVar.
func uploadURL(p ProjectPage, tagVar string) string {
	return p.PublicURL + "/api/v4/projects/" + url.PathEscape(p.Project.FullPath) + "/packages/terraform/modules/" +
		p.ExampleName + "/" + p.ExampleSystem + "/${" + tagVar + "#v}/file"
}

func trustRule(p ProjectPage) string {
	return `curl -s -H "PRIVATE-TOKEN: $TOKEN" -H 'Content-Type: application/json' \
  "` + p.PublicURL + `/api/v4/projects/` + url.PathEscape(p.Project.FullPath) + `/ci_trust_rules" -d '{
    "issuer":   "https://gitlab.example.com",
    "audience": "` + p.PublicURL + `",
    "conditions": [
      {"claim": "project_path", "op": "equals", "value": "` + p.Project.FullPath + `"},
      {"claim": "ref_type",     "op": "equals", "value": "tag"}
    ]}'
`
}

func gitlabCI(p ProjectPage) string {
	return `publish-module:
  image: alpine:3
  id_tokens:
    CAIRN_ID_TOKEN:
      aud: ` + p.PublicURL + `
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - apk add --no-cache curl tar
    - tar czf /tmp/module.tgz --exclude=.git .
    - >
      curl --fail-with-body --header "JOB-TOKEN: $CAIRN_ID_TOKEN" --upload-file /tmp/module.tgz
      "` + uploadURL(p, "CI_COMMIT_TAG") + `"
`
}

func githubActions(p ProjectPage) string {
	return `on: { push: { tags: ["v*"] } }
permissions: { id-token: write, contents: read }
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: |
          ID_TOKEN=$(curl -sS -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
            "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=` + p.PublicURL + `" | jq -r .value)
          tar czf /tmp/module.tgz --exclude=.git .
          curl --fail-with-body -H "JOB-TOKEN: $ID_TOKEN" --upload-file /tmp/module.tgz \
            "` + uploadURL(p, "GITHUB_REF_NAME") + `"
`
}
