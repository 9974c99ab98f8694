"""gRPC adapters shared by handlers and the agent: the only place in akri_common that knows the wire."""
