"""Real peers for the ONVIF handler's tests: simulated cameras and the network namespaces they live in."""
