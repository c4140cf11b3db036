{{- define "auditpipe.name" -}}{{ .Chart.Name }}{{- end -}}
{{- define "auditpipe.fullname" -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- define "auditpipe.labels" -}}
app.kubernetes.io/name: {{ include "auditpipe.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "auditpipe.selector" -}}
app.kubernetes.io/name: {{ include "auditpipe.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
{{/* The container every stage runs: the same image, one subcommand each. */}}
{{- define "auditpipe.container" -}}
- name: {{ .component }}
  image: "{{ .root.Values.image.repository }}:{{ .root.Values.image.tag }}"
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args: [{{ .component | quote }}]
  env:
    - name: AUDITPIPE_CONFIG
      value: /etc/auditpipe/config/auditpipe.yaml
    - name: AUDITPIPE_BROKERS
      value: {{ .root.Values.kafka.brokers | quote }}
  ports:
    - name: http
      containerPort: {{ .port }}
  readinessProbe:
    httpGet: {path: /readyz, port: http}
    periodSeconds: 10
  livenessProbe:
    httpGet: {path: /healthz, port: http}
    periodSeconds: 20
  resources: {{- toYaml .resources | nindent 4 }}
  securityContext: {{- toYaml .root.Values.securityContext | nindent 4 }}
  volumeMounts:
    - {name: config, mountPath: /etc/auditpipe/config, readOnly: true}
    - {name: secret, mountPath: /etc/auditpipe/secret, readOnly: true}
    {{- if .root.Values.rules }}
    - {name: extra-rules, mountPath: /etc/auditpipe/rules/extra, readOnly: true}
    {{- end }}
{{- end -}}
{{- define "auditpipe.volumes" -}}
- name: config
  configMap: {name: {{ include "auditpipe.fullname" . }}}
- name: secret
  secret: {secretName: {{ include "auditpipe.fullname" . }}}
{{- if .Values.rules }}
- name: extra-rules
  configMap: {name: {{ include "auditpipe.fullname" . }}-rules}
{{- end }}
{{- end -}}
