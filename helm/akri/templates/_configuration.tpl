{{/*
One Configuration from a `<handler>.configuration` block, with upstream's rendering rules:
- brokerSpec only when a broker image repository is set: brokerPod wins over brokerJob;
- the broker container is named <configuration name>-broker and requests one slot of the device
  ("{{PLACEHOLDER}}": "1", which the controller turns into akri.sh/<instance>) in requests and limits;
- instance and configuration Services only with a *pod* broker and their create flag.
(dict "root" $ "c" .Values.debugEcho.configuration "handler" "debugEcho" "details" <text>
      "defaultSecurityContext" <map or nil> "extraVolumes" <list> "extraMounts" <list>)
*/}}
{{- define "akri.configuration" -}}
{{- $root := .root -}}
{{- $c := .c -}}
{{- $pod := $c.brokerPod -}}
{{- $job := $c.brokerJob -}}
apiVersion: {{ printf "%s/%s" $root.Values.crds.group $root.Values.crds.version }}
kind: Configuration
metadata:
  name: {{ $c.name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "akri.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $c.name }}
    app.kubernetes.io/component: configuration
spec:
  discoveryHandler:
    name: {{ .handler }}
    discoveryDetails: {{ .details | quote }}
    {{- with $c.discoveryProperties }}
    discoveryProperties:
      {{- toYaml . | nindent 6 }}
    {{- end }}
  {{- if or $pod.image.repository $job.image.repository }}
  brokerSpec:
    {{- if $pod.image.repository }}
    brokerPodSpec:
      containers:
      - name: {{ $c.name }}-broker
        image: {{ printf "%s:%s" $pod.image.repository (toString $pod.image.tag) | quote }}
        {{- with (include "akri.pullPolicy" $pod.image | trim) }}{{ . | nindent 8 }}{{- end }}
        {{- with (include "akri.brokerEnv" $pod | trim) }}{{ . | nindent 8 }}{{- end }}
        {{- $security := $pod.securityContext | default .defaultSecurityContext }}
        {{- with $security }}
        securityContext:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        resources:
          {{- include "akri.brokerResources" $pod.resources | nindent 10 }}
        {{- $mounts := concat (.extraMounts | default list) ($pod.volumeMounts | default list) }}
        {{- with $mounts }}
        volumeMounts:
          {{- toYaml . | nindent 10 }}
        {{- end }}
      {{- $volumes := concat (.extraVolumes | default list) ($pod.volumes | default list) }}
      {{- with $volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with (include "akri.imagePullSecrets" $root | trim) }}{{ . | nindent 6 }}{{- end }}
    {{- else }}
    brokerJobSpec:
      template:
        spec:
          containers:
          - name: {{ $c.name }}-broker
            image: {{ printf "%s:%s" $job.image.repository (toString $job.image.tag) | quote }}
            {{- with (include "akri.pullPolicy" $job.image | trim) }}{{ . | nindent 12 }}{{- end }}
            {{- with $job.command }}
            command:
              {{- toYaml . | nindent 14 }}
            {{- end }}
            {{- with (include "akri.brokerEnv" $job | trim) }}{{ . | nindent 12 }}{{- end }}
            {{- with $job.securityContext }}
            securityContext:
              {{- toYaml . | nindent 14 }}
            {{- end }}
            resources:
              {{- include "akri.brokerResources" $job.resources | nindent 14 }}
            {{- $mounts := concat (.extraMounts | default list) ($job.volumeMounts | default list) }}
            {{- with $mounts }}
            volumeMounts:
              {{- toYaml . | nindent 14 }}
            {{- end }}
          {{- $volumes := concat (.extraVolumes | default list) ($job.volumes | default list) }}
          {{- with $volumes }}
          volumes:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          restartPolicy: {{ $job.restartPolicy }}
          {{- with (include "akri.imagePullSecrets" $root | trim) }}{{ . | nindent 10 }}{{- end }}
      backoffLimit: {{ $job.backoffLimit }}
      parallelism: {{ $job.parallelism }}
      completions: {{ $job.completions }}
    {{- end }}
  {{- end }}
  {{- if $pod.image.repository }}
  {{- if $c.createInstanceServices }}
  instanceServiceSpec:
    {{- include "akri.serviceSpec" $c.instanceService | nindent 4 }}
  {{- end }}
  {{- if $c.createConfigurationService }}
  configurationServiceSpec:
    {{- include "akri.serviceSpec" $c.configurationService | nindent 4 }}
  {{- end }}
  {{- end }}
  brokerProperties:
    {{- range $key, $value := $c.brokerProperties }}
    {{ $key | quote }}: {{ $value | toString | quote }}
    {{- else }} {}
    {{- end }}
  capacity: {{ $c.capacity }}
{{- end }}

{{/* env (a map) and envFrom ({secretRef: [names], configMapRef: [names]}) of a broker container */}}
{{- define "akri.brokerEnv" -}}
{{- with .env }}
env:
{{- range $name, $value := . }}
- name: {{ $name | quote }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- if .envFrom }}
{{- if or .envFrom.secretRef .envFrom.configMapRef }}
envFrom:
{{- range .envFrom.secretRef }}
- secretRef:
    name: {{ . | quote }}
{{- end }}
{{- range .envFrom.configMapRef }}
- configMapRef:
    name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* A ServiceSpec from upstream's keys: type, port, targetPort, protocol, and the port's name from portName or name. */}}
{{- define "akri.serviceSpec" -}}
type: {{ .type }}
ports:
- port: {{ .port }}
  {{- with (.portName | default .name) }}
  name: {{ . | quote }}
  {{- end }}
  protocol: {{ .protocol }}
  targetPort: {{ .targetPort }}
{{- end }}
