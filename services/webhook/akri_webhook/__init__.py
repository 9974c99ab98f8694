"""The Akri admission webhook: validates Configurations on create and update.

``openapi`` checks a value against an OpenAPI v3 schema graph and reports every problem;
``schemas`` extracts the Kubernetes schemas the webhook needs (from the API server's own
``/openapi/v3`` documents) and joins them to the Configuration CRD schema; ``validation`` adds
the checks a schema cannot express (udev permissions, the parser's own rules); ``review`` reads
an ``AdmissionReview`` and builds its answer; ``server`` serves ``POST /validate`` over TLS.
"""
