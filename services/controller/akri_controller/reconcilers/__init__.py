"""Level-based reconcilers: read the watched caches, decide with ``brokers``, write the difference."""
