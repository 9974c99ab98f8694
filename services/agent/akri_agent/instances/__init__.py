"""Instances: deciding what this node applies and releases, and writing it to the API server."""
