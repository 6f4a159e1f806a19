{{/* Chart name, truncated for label values. */}}
{{- define "cairn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified release name. */}}
{{- define "cairn.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "cairn.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cairn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "cairn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cairn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "cairn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cairn.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "cairn.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The container's serving port and scheme. */}}
{{- define "cairn.port" -}}
{{- if .Values.tls.existingSecret }}8443{{ else }}8080{{ end }}
{{- end }}
{{- define "cairn.scheme" -}}
{{- if .Values.tls.existingSecret }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* The Secret holding the database URL, and its key. */}}
{{- define "cairn.databaseSecret" -}}
{{- default (include "cairn.fullname" .) .Values.database.existingSecret }}
{{- end }}
{{- define "cairn.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{/* The Secret holding the S3 credentials, and its keys. */}}
{{- define "cairn.s3Secret" -}}
{{- default (include "cairn.fullname" .) .Values.s3.existingSecret }}
{{- end }}
{{- define "cairn.s3AccessKeyKey" -}}
{{- if .Values.s3.existingSecret }}{{ .Values.s3.accessKeyKey }}{{ else }}s3-access-key{{ end }}
{{- end }}
{{- define "cairn.s3SecretKeyKey" -}}
{{- if .Values.s3.existingSecret }}{{ .Values.s3.secretKeyKey }}{{ else }}s3-secret-key{{ end }}
{{- end }}

{{/* Configuration the chart refuses, with the reason. */}}
{{- define "cairn.validate" -}}
{{- if not .Values.publicURL }}
{{- fail "publicURL is required (e.g. https://registry.example.com): it appears in discovery documents and download links" }}
{{- end }}
{{- if not (or .Values.database.url .Values.database.existingSecret) }}
{{- fail "database.url or database.existingSecret is required: the image has no embedded PostgreSQL" }}
{{- end }}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.s3.enabled) }}
{{- fail "replicaCount > 1 needs s3.enabled: the filesystem blob store belongs to one pod" }}
{{- end }}
{{- if .Values.s3.enabled }}
{{- if not (and .Values.s3.endpoint .Values.s3.bucket) }}
{{- fail "s3.endpoint and s3.bucket are required when s3.enabled" }}
{{- end }}
{{- if not (or .Values.s3.existingSecret (and .Values.s3.accessKey .Values.s3.secretKey)) }}
{{- fail "s3.accessKey and s3.secretKey (or s3.existingSecret) are required when s3.enabled" }}
{{- end }}
{{- end }}
{{- range $k, $v := .Values.config }}
{{- if regexMatch "(SECRET|PASSWORD|DATABASE_URL|ACCESS_KEY|TOKEN)" $k }}
{{- fail (printf "config.%s looks secret: put it in secretConfig (rendered into a Secret), not the ConfigMap" $k) }}
{{- end }}
{{- if not (hasPrefix "CAIRN_" $k) }}
{{- fail (printf "config.%s: only CAIRN_* variables are read" $k) }}
{{- end }}
{{- end }}
{{- end }}
