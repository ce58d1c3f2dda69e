{{- define "common.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace }}
  labels:
    app.kubernetes.io/managed-by: {{ .context.Release.Service }}
data:
  {{- toYaml .data | nindent 2 }}
{{- end -}}
