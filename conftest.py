"""pytest plugins for every test directory: shared fixtures and the testbed session fixture."""

pytest_plugins = ["tests.support.fixtures", "akri_testbed.pytest_plugin"]
