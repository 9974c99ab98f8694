"""Registration: the ``v0.Registration`` server on ``agent-registration.sock``."""
