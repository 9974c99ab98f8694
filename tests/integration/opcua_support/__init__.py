"""Real OPC UA servers (asyncua) for the OPC UA handler and broker tests."""
