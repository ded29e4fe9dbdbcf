{{/* Names and labels shared by every template of the governed-agents chart. */}}

{{- define "ga.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A component's resource name: <fullname>-<component>, within the 63-character limit. */}}
{{- define "ga.name" -}}
{{- printf "%s-%s" (include "ga.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ga.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "ga.labels" -}}
{{ include "ga.selectorLabels" . }}
app.kubernetes.io/part-of: governed-agents
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "ga.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "ga.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "ga.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString) -}}
{{- end -}}

{{- define "ga.instanceConfigMap" -}}{{ include "ga.name" (dict "root" . "component" "instance") }}{{- end -}}
{{- define "ga.workspaceConfigMap" -}}{{ include "ga.name" (dict "root" . "component" "workspace") }}{{- end -}}
{{- define "ga.userCodeService" -}}{{ include "ga.name" (dict "root" . "component" "user-code") }}{{- end -}}
{{- define "ga.jobNamespace" -}}{{ .Values.runLauncher.jobNamespace | default .Release.Namespace }}{{- end -}}

{{/*
Environment of every Dagster process of this chart (code server, webserver, daemon,
Celery workers): DAGSTER_HOME, the PostgreSQL password for dagster.yaml, the plain
governance variables ("ga.envList"), and the governance ConfigMap and Secret ("ga.envFrom").
*/}}
{{- define "ga.envList" -}}
- name: DAGSTER_HOME
  value: {{ .Values.dagsterHome | quote }}
- name: DAGSTER_PG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.postgresql.passwordSecret }}
      key: postgresql-password
- name: GOVERNED_AGENTS_HOME
  value: {{ .Values.governance.homeDir | quote }}
{{- range $name, $value := .Values.governance.env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "ga.envFrom" -}}
- configMapRef:
    name: {{ .Values.governance.configMap }}
- secretRef:
    name: {{ .Values.governance.secret }}
{{- end -}}

{{/*
Volumes of every Dagster process: DAGSTER_HOME is a writable emptyDir with dagster.yaml
from the instance ConfigMap mounted into it (dagster-celery writes under DAGSTER_HOME),
the workspace for the webserver and the daemon, and a writable GOVERNED_AGENTS_HOME.
*/}}
{{- define "ga.volumeMounts" -}}
volumeMounts:
  - name: dagster-home
    mountPath: {{ .Values.dagsterHome }}
  - name: instance
    mountPath: {{ printf "%s/dagster.yaml" .Values.dagsterHome }}
    subPath: dagster.yaml
    readOnly: true
  - name: workspace
    mountPath: /opt/governed-agents/workspace
    readOnly: true
  - name: governed-agents-home
    mountPath: {{ .Values.governance.homeDir }}
{{- end -}}

{{- define "ga.volumes" -}}
volumes:
  - name: dagster-home
    emptyDir: {}
  - name: instance
    configMap:
      name: {{ include "ga.instanceConfigMap" . }}
  - name: workspace
    configMap:
      name: {{ include "ga.workspaceConfigMap" . }}
  - name: governed-agents-home
    emptyDir: {}
{{- end -}}

{{- define "ga.podSpecCommon" -}}
serviceAccountName: {{ include "ga.serviceAccountName" . }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "ga.containerSecurity" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: false
  capabilities:
    drop: ["ALL"]
{{- end -}}
