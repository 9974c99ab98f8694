"""The ``akri.sh/v0`` custom resources: Configuration and Instance models, names and CRD schemas."""

GROUP = "akri.sh"
VERSION = "v0"
API_VERSION = f"{GROUP}/{VERSION}"
