{{/*
One discovery handler's DaemonSet, shared by udev, onvif, debugEcho and custom.
(dict "root" $ "values" .Values.udev.discovery "name" "akri-udev-discovery"
      "daemonset" "akri-udev-discovery-daemonset" "image" <quoted image>
      "env" <list of env entries> "hostNetwork" bool "udev" <host udev path or "">)
The handler serves on $DISCOVERY_HANDLERS_DIRECTORY/<handler>.sock (or on POD_IP:port with
useNetworkConnection) and registers through agent-registration.sock in the same host directory.
*/}}
{{- define "akri.discoveryHandler" -}}
{{- $root := .root -}}
{{- $d := .values -}}
{{- $labels := dict "root" $root "name" .name "component" "discovery-handler" -}}
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {{ .daemonset }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "akri.componentLabels" $labels | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "akri.componentSelector" $labels | nindent 6 }}
  updateStrategy:
    type: RollingUpdate
  template:
    metadata:
      labels:
        {{- include "akri.componentLabels" $labels | nindent 8 }}
    spec:
      {{- if .hostNetwork }}
      hostNetwork: true
      dnsPolicy: ClusterFirstWithHostNet
      {{- end }}
      {{- include "akri.nodeSelector" (dict "selectors" $d.nodeSelectors) | nindent 6 }}
      {{- with (include "akri.tolerations" (dict "tolerations" $d.tolerations) | trim) }}{{ . | nindent 6 }}{{- end }}
      {{- with (include "akri.priorityClassName" $d.priorityClassName | trim) }}{{ . | nindent 6 }}{{- end }}
      {{- with (include "akri.imagePullSecrets" $root | trim) }}{{ . | nindent 6 }}{{- end }}
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 10
      containers:
      - name: {{ .name }}
        image: {{ .image }}
        {{- with (include "akri.pullPolicy" $d.image | trim) }}{{ . | nindent 8 }}{{- end }}
        {{- with $d.command }}
        command:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        resources:
          {{- include "akri.resources" $d.resources | nindent 10 }}
        {{- with $d.securityContext }}
        securityContext:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        {{- if $d.useNetworkConnection }}
        ports:
        - name: discovery
          containerPort: {{ $d.port }}
        {{- end }}
        env:
        - name: DISCOVERY_HANDLERS_DIRECTORY
          value: {{ include "akri.handlersDirectory" $root }}
        {{- if $d.useNetworkConnection }}
        - name: POD_IP
          valueFrom:
            fieldRef:
              fieldPath: status.podIP
        - name: DISCOVERY_HANDLER_PORT
          value: {{ $d.port | quote }}
        {{- end }}
        {{- include "akri.logEnv" $root | nindent 8 }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        {{- range $name, $value := $d.env }}
        - name: {{ $name }}
          value: {{ $value | quote }}
        {{- end }}
        volumeMounts:
        - name: discovery-handlers
          mountPath: {{ include "akri.handlersDirectory" $root }}
        # A writable /tmp under a read-only root (debugEcho's availability file lives there).
        - name: tmp
          mountPath: /tmp
        {{- if .udev }}
        - name: udev
          mountPath: /run/udev
          readOnly: true
        {{- end }}
      volumes:
      - name: tmp
        emptyDir:
          sizeLimit: 16Mi
      - name: discovery-handlers
        hostPath:
          path: {{ $root.Values.agent.host.discoveryHandlers | quote }}
          type: DirectoryOrCreate
      {{- if .udev }}
      - name: udev
        hostPath:
          path: {{ .udev | quote }}
      {{- end }}
{{- end }}
