"""Configurations: the reconciler that turns each Configuration into discovery and Instances."""
