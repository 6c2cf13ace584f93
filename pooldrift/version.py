"""The version of pooldrift, in a module that imports nothing (anything may import it)."""

__version__ = "0.1.0"
