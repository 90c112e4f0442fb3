{{/*
The worker's environment: every setting of its deployment contract, by the names Karpenter
and the Temporal SDK's envconfig read.
*/}}
{{- define "nodewright.env" -}}
- name: CLUSTER_NAME
  value: {{ .Values.settings.clusterName | quote }}
{{- with .Values.settings.clusterEndpoint }}
- name: CLUSTER_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.settings.interruptionQueue }}
- name: INTERRUPTION_QUEUE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.settings.awsRegion }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
- name: ISOLATED_VPC
  value: {{ .Values.settings.isolatedVPC | quote }}
- name: BATCH_IDLE_DURATION
  value: {{ .Values.settings.batchIdleDuration | quote }}
- name: BATCH_MAX_DURATION
  value: {{ .Values.settings.batchMaxDuration | quote }}
- name: KUBE_CLIENT_QPS
  value: {{ .Values.settings.kubeClientQPS | quote }}
- name: KUBE_CLIENT_BURST
  value: {{ .Values.settings.kubeClientBurst | quote }}
{{- $tw := .Values.settings.temporalWorker }}
{{- range $key, $env := dict "workflowTaskPollers" "WORKFLOW_TASK_POLLERS" "activityTaskPollers" "ACTIVITY_TASK_POLLERS" "maxConcurrentWorkflowTasks" "MAX_CONCURRENT_WORKFLOW_TASKS" "maxConcurrentActivities" "MAX_CONCURRENT_ACTIVITIES" "maxConcurrentLocalActivities" "MAX_CONCURRENT_LOCAL_ACTIVITIES" "stickyWorkflowCacheSize" "STICKY_WORKFLOW_CACHE_SIZE" }}
- name: {{ $env }}
  value: {{ include "nodewright.decimal" (required (printf "settings.temporalWorker.%s is required: a whole number (see values.yaml for the default)" $key) (get $tw $key)) | quote }}
{{- end }}
- name: POLLER_AUTOSCALING
  value: {{ $tw.pollerAutoscaling | quote }}
{{- /* A limit of 0 (nodes: 0, maxHourlyCost: 0) launches nothing: only an empty value or
none leaves a limit out, where `with` would drop a 0 too. */}}
{{- $limits := .Values.settings.clusterLimits | default dict }}
{{- range $key, $env := dict "cpu" "CLUSTER_LIMIT_CPU" "memory" "CLUSTER_LIMIT_MEMORY" "nodes" "CLUSTER_LIMIT_NODES" }}
{{- $v := get $limits $key }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
- name: {{ $env }}
  value: {{ include "nodewright.decimal" $v | quote }}
{{- end }}
{{- end }}
{{- $cost := get .Values.settings "maxHourlyCost" }}
{{- if and (not (kindIs "invalid" $cost)) (ne (toString $cost) "") }}
- name: MAX_HOURLY_COST
  value: {{ include "nodewright.decimal" $cost | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: METRICS_PORT
  value: {{ .Values.metrics.port | quote }}
- name: HEALTH_PROBE_PORT
  value: {{ .Values.healthProbe.port | quote }}
{{- include "nodewright.temporalEnv" . }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The Temporal connection: the dev server, or the temporal values. */}}
{{- define "nodewright.temporalEnv" -}}
{{- if .Values.devTemporal.enabled }}
- name: TEMPORAL_ADDRESS
  value: {{ printf "%s.%s.svc:7233" (include "nodewright.devTemporalName" .) .Release.Namespace | quote }}
- name: TEMPORAL_NAMESPACE
  value: default
- name: CREATE_SEARCH_ATTRIBUTES
  value: "true"
{{- else }}
{{- $t := .Values.temporal }}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required: host:port of your Temporal frontend, or set devTemporal.enabled=true on a test cluster" $t.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ required "temporal.namespace is required: the Temporal namespace the worker runs in" $t.namespace | quote }}
- name: TEMPORAL_TLS
  value: {{ include "nodewright.temporalTLS" . | quote }}
{{- with $t.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- with $t.apiKey.secretName }}
- name: TEMPORAL_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ required "temporal.apiKey.secretKey is required with temporal.apiKey.secretName: the key of the API key in that Secret" $t.apiKey.secretKey }}
{{- end }}
{{- if $t.mtls.secretName }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/temporal/tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/temporal/tls/tls.key
{{- if $t.mtls.serverCA }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/temporal/tls/ca.crt
{{- end }}
{{- end }}
- name: CREATE_SEARCH_ATTRIBUTES
  value: {{ $t.createSearchAttributes | quote }}
{{- end }}
{{- end }}

{{- /* nodewright.decimal writes a value as a plain decimal. Helm reads a YAML number as a
float64, which toString writes in exponent form past six digits (1000000 as 1e+06), a form
the worker's limits refuse. */}}
{{- define "nodewright.decimal" -}}
{{- if kindIs "float64" . -}}
{{- regexReplaceAll "\\.?0+$" (printf "%.9f" .) "" -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}
