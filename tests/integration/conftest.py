"""Fixtures for integration tests."""

from tests.support.fixtures import processes, sockets_dir

__all__ = ["processes", "sockets_dir"]
