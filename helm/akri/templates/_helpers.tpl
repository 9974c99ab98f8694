{{/* vim: set filetype=mustache: */}}
{{/*
Shared pieces of the chart. Names and labels follow upstream Akri's chart, because tools and
tests select on them: app.kubernetes.io/part-of: akri, app.kubernetes.io/instance: <release>,
app.kubernetes.io/name: akri-agent | akri-controller | akri-<handler>-discovery | <webhook name>,
app.kubernetes.io/component: agent | controller | discovery-handler | admission-webhook.
*/}}

{{- define "akri.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "akri.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object of the release carries. */}}
{{- define "akri.labels" -}}
helm.sh/chart: {{ include "akri.chart" . }}
{{ include "akri.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "akri.selectorLabels" -}}
app.kubernetes.io/part-of: {{ include "akri.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of one component: (dict "root" $ "name" "akri-agent" "component" "agent") */}}
{{- define "akri.componentLabels" -}}
{{ include "akri.labels" .root }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "akri.componentSelector" -}}
{{ include "akri.selectorLabels" .root }}
app.kubernetes.io/name: {{ .name }}
{{- end }}

{{/*
An image of ours: (dict "root" $ "image" .Values.agent.image [ "repository" override ]).
Tag rule as upstream's: an explicit tag wins; else useDevelopmentContainers adds "-dev" and
useLatestContainers picks "latest"; else the chart's appVersion (our images are tagged with the
project version, without upstream's "v" prefix).
*/}}
{{- define "akri.image" -}}
{{- $v := .root.Values -}}
{{- $repository := default .image.repository .repository -}}
{{- $tag := .root.Chart.AppVersion -}}
{{- if $v.useLatestContainers }}{{ $tag = "latest" }}{{ end -}}
{{- if $v.useDevelopmentContainers }}{{ $tag = printf "%s-dev" $tag }}{{ end -}}
{{- printf "%s:%s" $repository (toString (default $tag .image.tag)) | quote }}
{{- end }}

{{- define "akri.pullPolicy" -}}
{{- with .pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{/* requests and limits from upstream's four keys (memoryRequest, cpuRequest, memoryLimit, cpuLimit) */}}
{{- define "akri.resources" -}}
requests:
  memory: {{ .memoryRequest | quote }}
  cpu: {{ .cpuRequest | quote }}
limits:
  memory: {{ .memoryLimit | quote }}
  cpu: {{ .cpuLimit | quote }}
{{- end }}

{{/* A broker container's resources: the same, plus one slot of the device ({{PLACEHOLDER}}). */}}
{{- define "akri.brokerResources" -}}
requests:
  {{ `"{{PLACEHOLDER}}"` }}: "1"
  memory: {{ .memoryRequest | quote }}
  cpu: {{ .cpuRequest | quote }}
limits:
  {{ `"{{PLACEHOLDER}}"` }}: "1"
  memory: {{ .memoryLimit | quote }}
  cpu: {{ .cpuLimit | quote }}
{{- end }}

{{/*
nodeSelector: linux always, plus the component's nodeSelectors.
(dict "selectors" .Values.agent.nodeSelectors [ "controlPlane" true ])
*/}}
{{- define "akri.nodeSelector" -}}
nodeSelector:
  kubernetes.io/os: linux
  {{- if .controlPlane }}
  node-role.kubernetes.io/control-plane: ""
  {{- end }}
  {{- with .selectors }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
tolerations: the component's list (upstream's default is an empty map, so a map is taken as
"none"), plus the control-plane tolerations when allowOnControlPlane is set.
(dict "tolerations" .Values.controller.tolerations "allowOnControlPlane" true)
*/}}
{{- define "akri.tolerations" -}}
{{- $list := list -}}
{{- if kindIs "slice" .tolerations }}{{ $list = .tolerations }}{{ end -}}
{{- if or $list .allowOnControlPlane }}
tolerations:
{{- if .allowOnControlPlane }}
- key: node-role.kubernetes.io/control-plane
  operator: Exists
  effect: NoSchedule
- key: node-role.kubernetes.io/master
  operator: Exists
  effect: NoSchedule
{{- end }}
{{- with $list }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}
{{- end }}

{{- define "akri.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end }}

{{- define "akri.priorityClassName" -}}
{{- with . }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Where handlers and the agent meet on every node (mount path inside the containers). */}}
{{- define "akri.handlersDirectory" -}}
/var/lib/akri
{{- end }}

{{/* The environment every one of our processes reads for logging. */}}
{{- define "akri.logEnv" -}}
- name: LOG_FORMAT
  value: json
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end }}

{{/* The webhook's serving Secret name (upstream: the webhook's name). */}}
{{- define "akri.webhook.secretName" -}}
{{- .Values.webhookConfiguration.name }}
{{- end }}
