{{/* The chart's name. */}}
{{- define "nodewright.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of the worker's objects: the release name when it holds the chart's name. */}}
{{- define "nodewright.fullname" -}}
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

{{/* Labels of every object. */}}
{{- define "nodewright.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "nodewright.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.additionalLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the worker's pods. */}}
{{- define "nodewright.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nodewright.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Metadata lines every object shares after its name and namespace. */}}
{{- define "nodewright.metadata" -}}
labels:
  {{- include "nodewright.labels" . | nindent 2 }}
{{- with .Values.additionalAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The ServiceAccount the worker runs as. */}}
{{- define "nodewright.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nodewright.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name the existing ServiceAccount the worker runs as" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The worker image, by digest when one is given. */}}
{{- define "nodewright.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The webhook's TLS Secret: the user's, or the one the chart makes. */}}
{{- define "nodewright.webhookCertSecret" -}}
{{- default (printf "%s-webhook-cert" (include "nodewright.fullname" .)) .Values.webhook.certSecretName }}
{{- end }}

{{/* The dev Temporal server's name. */}}
{{- define "nodewright.devTemporalName" -}}
{{- printf "%s-dev-temporal" (include "nodewright.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Whether the worker talks TLS to Temporal: asked for, or implied by an API key or mTLS. */}}
{{- define "nodewright.temporalTLS" -}}
{{- $t := .Values.temporal }}
{{- if and (not .Values.devTemporal.enabled) (or $t.tls.enabled $t.apiKey.secretName $t.mtls.secretName) }}true{{ else }}false{{ end }}
{{- end }}

{{/*
The worker's affinity: the user's, with karpenter.sh/nodepool DoesNotExist added to every
required node selector term (terms are ORed, so each must carry it), so the worker never runs
on a node it manages and could remove.
*/}}
{{- define "nodewright.affinity" -}}
{{- $affinity := deepCopy (.Values.affinity | default dict) }}
{{- $node := get $affinity "nodeAffinity" | default dict }}
{{- $required := get $node "requiredDuringSchedulingIgnoredDuringExecution" | default dict }}
{{- $terms := get $required "nodeSelectorTerms" | default (list dict) }}
{{- $notManaged := dict "key" "karpenter.sh/nodepool" "operator" "DoesNotExist" }}
{{- $withRule := list }}
{{- range $terms }}
{{- $expressions := append (get . "matchExpressions" | default list) $notManaged }}
{{- $withRule = append $withRule (set . "matchExpressions" $expressions) }}
{{- end }}
{{- $_ := set $required "nodeSelectorTerms" $withRule }}
{{- $_ = set $node "requiredDuringSchedulingIgnoredDuringExecution" $required }}
{{- $_ = set $affinity "nodeAffinity" $node }}
{{- toYaml $affinity }}
{{- end }}

{{/*
Checks of values that would render a worker that cannot work; each names the value to fix.
*/}}
{{- define "nodewright.validate" -}}
{{- $_ := required "settings.clusterName is required: set it to the name of your EKS cluster (--set settings.clusterName=<cluster>); instances are tagged with it" .Values.settings.clusterName }}
{{- if and .Values.webhook.enabled (or (ne .Release.Namespace "kube-system") (ne (include "nodewright.fullname" .) "nodewright")) }}
{{- fail (printf "the CRDs in crds/ call the conversion webhook at Service nodewright in kube-system, but this release would name it %s in %s: install with `helm install nodewright charts/nodewright -n kube-system`, or set webhook.enabled=false (karpenter.sh/v1beta1 objects then cannot be converted)" (include "nodewright.fullname" .) .Release.Namespace) }}
{{- end }}
{{- if and .Values.temporal.apiKey.secretName .Values.temporal.mtls.secretName (not .Values.devTemporal.enabled) }}
{{- fail "temporal.apiKey.secretName and temporal.mtls.secretName are both set: Temporal Cloud takes one of an API key or a client certificate, set only one" }}
{{- end }}
{{- if not (has .Values.logFormat (list "json" "text")) }}
{{- fail (printf "logFormat %q must be json or text" .Values.logFormat) }}
{{- end }}
{{- if not (has .Values.logLevel (list "debug" "info" "warn" "error")) }}
{{- fail (printf "logLevel %q must be debug, info, warn or error" .Values.logLevel) }}
{{- end }}
{{- end }}
