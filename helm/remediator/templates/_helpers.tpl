{{/* Chart name. */}}
{{- define "remediator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already holds the chart name. */}}
{{- define "remediator.fullname" -}}
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

{{- define "remediator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "remediator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "remediator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "remediator.labels" -}}
helm.sh/chart: {{ include "remediator.chart" . }}
{{ include "remediator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: remediator
{{- end }}

{{- define "remediator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "remediator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is given, else repository:tag. */}}
{{- define "remediator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "remediator.tokenSecretName" -}}
{{- default (printf "%s-tokens" (include "remediator.fullname" .)) .Values.tokens.existingSecret }}
{{- end }}

{{- define "remediator.keySecretName" -}}
{{- default (printf "%s-keys" (include "remediator.fullname" .)) .Values.keys.existingSecret }}
{{- end }}

{{/* The rule files: inline values, or the chart's copy of the repository's rules/. */}}
{{- define "remediator.ruleFiles" -}}
{{- if .Values.rules.files }}
{{- range $name, $content := .Values.rules.files }}
{{ $name }}: |
{{- if kindIs "string" $content }}
{{ $content | indent 2 }}
{{- else }}
{{ toYaml $content | indent 2 }}
{{- end }}
{{- end }}
{{- else }}
{{- range $path, $_ := .Files.Glob "files/rules/*.yml" }}
{{ base $path }}: |
{{ $.Files.Get $path | indent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The RBAC rules the enabled action types need, as a YAML list. One place
decides them for Roles and the ClusterRole alike; never "*", never secrets,
never pods/exec.
*/}}
{{- define "remediator.rbacRules" -}}
{{- $actions := .Values.rbac.actions }}
{{- if has "kubernetes.delete_pod" $actions }}
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "delete"]
{{- end }}
{{- if .Values.rbac.evidence }}
{{ include "remediator.evidenceRules" . }}
{{- end }}
{{- if has "kubernetes.rollout_restart" $actions }}
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "patch"]
{{- end }}
{{- if has "kubernetes.rollout_undo" $actions }}
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "patch"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list"]
{{- end }}
{{- if has "kubernetes.scale" $actions }}
- apiGroups: ["apps"]
  resources: ["deployments/scale", "statefulsets/scale"]
  verbs: ["get", "patch"]
{{- end }}
{{- if has "kubernetes.hpa_patch" $actions }}
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "patch"]
{{- end }}
{{- end }}

{{/*
What the evidence snapshot reads in a namespace it acts in
(remediator/actions/kubernetes/snapshot.py and reader.py): the target, its
events, a pod's previous log and owner chain, a Deployment's ReplicaSets.
*/}}
{{- define "remediator.evidenceRules" -}}
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["list"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get"]
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["get", "list"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get"]
{{- end }}

{{/* The snapshot also reads the pod's node: cluster-scoped, so a ClusterRole's. */}}
{{- define "remediator.evidenceNodeRules" -}}
- apiGroups: [""]
  resources: ["nodes"]
  verbs: ["get"]
{{- end }}

{{/* Refusals: values that would install something that cannot work. */}}
{{- define "remediator.validate" -}}
{{- if and (gt (int .Values.replicaCount) 1) (not .Values.database.postgresql.enabled) }}
{{- fail "replicaCount > 1 needs database.postgresql.enabled=true: SQLite on a ReadWriteOnce volume has a single writer" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled=true needs ingress.host: the host name the Ingress answers for" }}
{{- end }}
{{- if and .Values.gitops.enabled .Values.gitops.sshKeyKey (not .Values.gitops.knownHostsKey) }}
{{- fail "gitops.sshKeyKey needs gitops.knownHostsKey: the host keys SSH accepts (an unknown host is refused)" }}
{{- end }}
{{- if and .Values.database.postgresql.enabled (not .Values.database.postgresql.existingSecret) }}
{{- fail "database.postgresql.enabled=true needs database.postgresql.existingSecret: the Secret holding the PostgreSQL URL" }}
{{- end }}
{{- end }}
