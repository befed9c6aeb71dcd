{{/* Chart name. */}}
{{- define "tf.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Resource name prefix: <release>-<chart>, or <release> when it already contains the chart name. */}}
{{- define "tf.fullname" -}}
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

{{/* Labels every object of the release carries. */}}
{{- define "tf.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/part-of: trading-floor
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of the operator. */}}
{{- define "tf.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tf.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "tf.operator.serviceAccountName" -}}
{{- default (printf "%s-operator" (include "tf.fullname" .)) .Values.operator.serviceAccount.name }}
{{- end }}

{{/* The Secret with DATABASE_URL and REDIS_URL the agents get. */}}
{{- define "tf.connectionSecretName" -}}
{{- default .Values.connections.secretName .Values.connections.existingSecret }}
{{- end }}

{{- define "tf.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "tf.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tf.redis.fullname" -}}
{{- printf "%s-redis" (include "tf.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Restricted-profile container security context used by every container of the chart. */}}
{{- define "tf.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Configuration errors the schema cannot express; `fail` stops install/template with the message. */}}
{{- define "tf.validate" -}}
{{- if .Values.connections.existingSecret }}
{{- if or .Values.postgresql.enabled .Values.redis.enabled }}
{{- fail "connections.existingSecret is set: set postgresql.enabled=false and redis.enabled=false (the existing Secret must hold DATABASE_URL and REDIS_URL)" }}
{{- end }}
{{- else }}
{{- if and (not .Values.postgresql.enabled) (not .Values.connections.databaseUrl) }}
{{- fail "postgresql.enabled is false: set connections.databaseUrl (or connections.existingSecret)" }}
{{- end }}
{{- if and (not .Values.redis.enabled) (not .Values.connections.redisUrl) }}
{{- fail "redis.enabled is false: set connections.redisUrl (or connections.existingSecret)" }}
{{- end }}
{{- end }}
{{- end }}

{{/* A sample TraderAgent, printed by NOTES.txt (tests validate it against the CRD). */}}
{{- define "tf.sampleTraderAgent" -}}
apiVersion: tradingfloor.dev/v1alpha1
kind: TraderAgent
metadata:
  name: momentum-btc
  namespace: {{ .Release.Namespace }}
spec:
  strategy: momentum
  market: {asset: BTC, interval: 15m}
  params:
    lookbackSeconds: 300
    thresholdBps: 50
  risk:
    capital: "1000"
    riskPerTradeBps: 200
  mode: paper
{{- end }}

{{/* The audit key Secret (key `key`) and the ConfigMap holding the exported audit-chain head. */}}
{{- define "tf.auditKeySecret" -}}
{{- default (printf "%s-audit-key" (include "tf.fullname" .)) .Values.audit.existingKeySecret }}
{{- end }}

{{- define "tf.auditHeadConfigMap" -}}
{{- printf "%s-audit-head" (include "tf.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
