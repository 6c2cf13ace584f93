"""Bolt listeners, one module per kind of request, each wired by its ``register(app, deps)``."""
