"""Helpers for tests that run Akri-py components as real processes."""
