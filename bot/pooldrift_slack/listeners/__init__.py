"""Bolt listeners, one module per kind of request: module-level functions that read ``Deps``
from the Bolt context, wired by each module's ``register(app)``.
"""
