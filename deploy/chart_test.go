package deploy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cairn-registry/cairn/internal/testenv"
)

const chartDir = "helm/cairn"

// chartCase is one value set under helm/cairn/ci and what its rendering must show.
type chartCase struct {
	values   string
	replicas int
	image    string
	// secrets are values that must appear only in Secrets (base64), never
	// in a ConfigMap or a pod spec.
	secrets        []string
	dbSecret       string // Secret the database URL is read from
	s3             bool
	ingressTLS     bool
	serviceMonitor bool
	metrics        bool
}

var chartCases = []chartCase{
	{values: "ci/minimal-values.yaml", replicas: 1, image: "ghcr.io/cairn-registry/cairn:0.1.0",
		secrets: []string{"s3cr3t-db-password"}, dbSecret: "t-cairn"},
	{values: "ci/production-values.yaml", replicas: 2, image: "registry.example.com/platform/cairn:1.4.2",
		secrets:  []string{"wJalrXUtnFEMI-example-secret-key", "AKIAEXAMPLEACCESSKEY", "oidc-client-secret-value"},
		dbSecret: "cairn-database", s3: true, ingressTLS: true, serviceMonitor: true, metrics: true},
	{values: "ci/ha-values.yaml", replicas: 3, image: "ghcr.io/cairn-registry/cairn:0.1.0",
		secrets: []string{"ha-db-password"}, dbSecret: "t-cairn", s3: true, metrics: true},
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(testenv.Helm(t), args...)
	cmd.Dir = "."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String() + errb.String(), err
	}
	return out.String(), nil
}

type object = map[string]any

// render runs helm template with the value files and decodes every document.
func render(t *testing.T, values ...string) ([]object, error) {
	t.Helper()
	args := []string{"template", "t", chartDir, "--namespace", "registry"}
	for _, v := range values {
		args = append(args, "-f", v)
	}
	out, err := helm(t, args...)
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	var objs []object
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var o object
		if err := dec.Decode(&o); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, out)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// get walks a decoded object by keys and list indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func byKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o["kind"] == kind {
			out = append(out, o)
		}
	}
	return out
}

// TestChartLint is helm lint --strict for each value set (make chart-test).
func TestChartLint(t *testing.T) {
	for _, c := range chartCases {
		if out, err := helm(t, "lint", "--strict", chartDir, "-f", chartDir+"/"+c.values); err != nil {
			t.Errorf("helm lint --strict -f %s: %v\n%s", c.values, err, out)
		}
	}
}

// TestChartRender renders the chart for each value set and checks the
// manifests: image, probes, configuration split between ConfigMap and
// Secret, disruption budget and spread for replicas, metrics.
func TestChartRender(t *testing.T) {
	for _, c := range chartCases {
		t.Run(strings.TrimSuffix(strings.TrimPrefix(c.values, "ci/"), "-values.yaml"), func(t *testing.T) {
			objs, err := render(t, chartDir+"/"+c.values)
			if err != nil {
				t.Fatal(err)
			}
			deps := byKind(objs, "Deployment")
			if len(deps) != 1 {
				t.Fatalf("want one Deployment, got %d", len(deps))
			}
			d := deps[0]
			if r := get(d, "spec", "replicas"); r != c.replicas {
				t.Errorf("replicas = %v, want %d", r, c.replicas)
			}
			pod := get(d, "spec", "template", "spec")
			if ic, _ := get(pod, "initContainers").([]any); len(ic) > 0 {
				t.Errorf("init containers present: migrations run in each replica under the advisory lock")
			}
			ctr := get(pod, "containers", 0)
			if img := get(ctr, "image"); img != c.image {
				t.Errorf("image = %v, want %s", img, c.image)
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
				if p := get(ctr, probe, "httpGet", "path"); p != path {
					t.Errorf("%s path = %v, want %s", probe, p, path)
				}
				if p := get(ctr, probe, "httpGet", "port"); p != "http" {
					t.Errorf("%s port = %v, want the http port", probe, p)
				}
			}
			if get(pod, "securityContext", "runAsNonRoot") != true || get(ctr, "securityContext", "readOnlyRootFilesystem") != true {
				t.Errorf("the pod must run as non-root with a read-only root filesystem")
			}

			// The configuration: non-secret values in the ConfigMap, every
			// credential in a Secret referenced by secretKeyRef.
			cms := byKind(objs, "ConfigMap")
			if len(cms) != 1 {
				t.Fatalf("want one ConfigMap, got %d", len(cms))
			}
			cm := get(cms[0], "data").(map[string]any)
			cmText := fmt.Sprint(cm)
			for _, s := range c.secrets {
				if strings.Contains(cmText, s) {
					t.Errorf("secret value %q is in the ConfigMap", s)
				}
			}
			for k := range cm {
				for _, bad := range []string{"DATABASE_URL", "SECRET", "PASSWORD", "ACCESS_KEY"} {
					if strings.Contains(k, bad) && k != "CAIRN_REQUIRE_DATABASE_URL" {
						t.Errorf("ConfigMap key %s holds a credential", k)
					}
				}
			}
			podText := fmt.Sprint(pod)
			for _, s := range c.secrets {
				if strings.Contains(podText, s) {
					t.Errorf("secret value %q is in the pod spec", s)
				}
			}
			var secretText strings.Builder
			for _, s := range byKind(objs, "Secret") {
				for _, v := range get(s, "data").(map[string]any) {
					b, _ := base64.StdEncoding.DecodeString(v.(string))
					secretText.Write(b)
					secretText.WriteByte('\n')
				}
			}
			for _, s := range c.secrets {
				if !strings.Contains(secretText.String(), s) && !(c.dbSecret != "t-cairn" && strings.Contains(s, "db")) {
					t.Errorf("secret value %q is not in the chart's Secret", s)
				}
			}
			env := map[string]any{}
			for _, e := range get(ctr, "env").([]any) {
				env[get(e, "name").(string)] = e
			}
			if n := get(env["CAIRN_DATABASE_URL"], "valueFrom", "secretKeyRef", "name"); n != c.dbSecret {
				t.Errorf("CAIRN_DATABASE_URL from Secret %v, want %s", n, c.dbSecret)
			}
			if get(env["CAIRN_DATABASE_URL"], "value") != nil {
				t.Errorf("CAIRN_DATABASE_URL given as a plain value")
			}
			if cm["CAIRN_REQUIRE_DATABASE_URL"] != "true" {
				t.Errorf("CAIRN_REQUIRE_DATABASE_URL = %v, want true", cm["CAIRN_REQUIRE_DATABASE_URL"])
			}
			if c.s3 {
				if cm["CAIRN_STORAGE"] != "s3" {
					t.Errorf("CAIRN_STORAGE = %v, want s3", cm["CAIRN_STORAGE"])
				}
				for _, k := range []string{"CAIRN_S3_ACCESS_KEY", "CAIRN_S3_SECRET_KEY"} {
					if get(env[k], "valueFrom", "secretKeyRef") == nil {
						t.Errorf("%s is not read from a Secret", k)
					}
				}
			}

			// Replicas: a disruption budget and topology spread.
			pdbs := byKind(objs, "PodDisruptionBudget")
			tsc, _ := get(pod, "topologySpreadConstraints").([]any)
			if c.replicas > 1 {
				if len(pdbs) != 1 {
					t.Errorf("replicas %d: want a PodDisruptionBudget, got %d", c.replicas, len(pdbs))
				}
				if len(tsc) == 0 {
					t.Errorf("replicas %d: want topologySpreadConstraints", c.replicas)
				}
				if get(d, "spec", "strategy", "rollingUpdate", "maxUnavailable") != 0 {
					t.Errorf("replicas %d: a rolling update must keep every replica serving", c.replicas)
				}
			} else if len(pdbs) != 0 || len(tsc) != 0 {
				t.Errorf("one replica: no PodDisruptionBudget or spread expected")
			}

			// Ingress with TLS.
			ings := byKind(objs, "Ingress")
			if c.ingressTLS {
				if len(ings) != 1 || get(ings[0], "spec", "tls", 0, "secretName") == nil {
					t.Errorf("want an Ingress with TLS")
				} else if get(ings[0], "spec", "rules", 0, "http", "paths", 0, "backend", "service", "port", "name") != "http" {
					t.Errorf("the Ingress must route to the http port (not metrics)")
				}
			} else if len(ings) != 0 {
				t.Errorf("no Ingress expected")
			}

			// Metrics: CAIRN_METRICS_LISTEN's port is the container's metrics
			// port, which the ServiceMonitor scrapes at /metrics.
			sms := byKind(objs, "ServiceMonitor")
			if c.metrics {
				listen, _ := cm["CAIRN_METRICS_LISTEN"].(string)
				port := fmt.Sprint(get(ctr, "ports", 1, "containerPort"))
				if get(ctr, "ports", 1, "name") != "metrics" || listen != ":"+port {
					t.Errorf("CAIRN_METRICS_LISTEN %q and the metrics container port %s disagree", listen, port)
				}
			} else if _, ok := cm["CAIRN_METRICS_LISTEN"]; ok {
				t.Errorf("metrics are off by default")
			}
			if c.serviceMonitor {
				if len(sms) != 1 || get(sms[0], "spec", "endpoints", 0, "path") != "/metrics" || get(sms[0], "spec", "endpoints", 0, "port") != "metrics" {
					t.Errorf("want a ServiceMonitor scraping port metrics at /metrics, got %v", sms)
				}
			} else if len(sms) != 0 {
				t.Errorf("no ServiceMonitor expected")
			}
		})
	}
}

// TestChartRefuses checks that configurations that cannot work fail at
// render time with a message saying why.
func TestChartRefuses(t *testing.T) {
	cases := []struct {
		set  []string
		want string
	}{
		{[]string{"publicURL=https://r.example.com"}, "database.url or database.existingSecret is required"},
		{[]string{"database.url=postgres://x@db/cairn"}, "publicURL is required"},
		{[]string{"publicURL=https://r.example.com", "database.url=postgres://x@db/cairn", "replicaCount=3"}, "replicaCount > 1 needs s3.enabled"},
		{[]string{"publicURL=https://r.example.com", "database.url=postgres://x@db/cairn", "config.CAIRN_OIDC_CLIENT_SECRET=x"}, "put it in secretConfig"},
		{[]string{"publicURL=https://r.example.com", "database.url=postgres://x@db/cairn", "s3.enabled=true", "s3.endpoint=s3", "s3.bucket=b"}, "s3.accessKey and s3.secretKey"},
	}
	for _, c := range cases {
		args := []string{"template", "t", chartDir}
		for _, s := range c.set {
			args = append(args, "--set", s)
		}
		out, err := helm(t, args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("helm template --set %v: err %v, want a failure saying %q:\n%s", c.set, err, c.want, out)
		}
	}
}
