{{- define "shipyard.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "shipyard.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "shipyard.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "shipyard.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "shipyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ .Values.serviceAccount.name | default (include "shipyard.fullname" .) }}
{{- else -}}
{{ .Values.serviceAccount.name | default "default" }}
{{- end -}}
{{- end -}}

{{- define "shipyard.mlflowTrackingUri" -}}
{{- if .Values.mlflow.server.enabled -}}
http://{{ include "shipyard.fullname" . }}-mlflow:{{ .Values.mlflow.server.port }}
{{- else -}}
{{ .Values.mlflow.trackingUri }}
{{- end -}}
{{- end -}}

{{/* The environment every shipyard container shares: home, stores, object storage. */}}
{{- define "shipyard.env" -}}
- name: SHIPYARD_HOME
  value: /var/lib/shipyard
{{- if .Values.database.existingSecret }}
- name: SHIPYARD_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.secretKey }}
{{- else if .Values.database.url }}
- name: SHIPYARD_DATABASE_URL
  value: {{ .Values.database.url | quote }}
{{- end }}
{{- with include "shipyard.mlflowTrackingUri" . }}
- name: MLFLOW_TRACKING_URI
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.artifacts }}
- name: SHIPYARD_ARTIFACTS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.predictionLog }}
- name: SHIPYARD_PREDICTION_LOG
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.mlflowArtifacts }}
- name: SHIPYARD_MLFLOW_ARTIFACTS
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.s3EndpointUrl }}
- name: AWS_ENDPOINT_URL_S3
  value: {{ . | quote }}
- name: MLFLOW_S3_ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.storage.awsRegion }}
- name: AWS_DEFAULT_REGION
  value: {{ . | quote }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{- define "shipyard.envFrom" -}}
{{- with .Values.storage.credentialsSecret }}
envFrom:
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end -}}

{{/* Writable folders on a read-only root: the home (SQLite, spool) and /tmp. */}}
{{- define "shipyard.volumeMounts" -}}
- name: home
  mountPath: /var/lib/shipyard
- name: tmp
  mountPath: /tmp
{{- end -}}

{{- define "shipyard.volumes" -}}
- name: home
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "shipyard.podSpecCommon" -}}
serviceAccountName: {{ include "shipyard.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  {{- include "shipyard.volumes" . | nindent 2 }}
{{- end -}}
