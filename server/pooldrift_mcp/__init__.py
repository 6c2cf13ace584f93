"""pooldrift's MCP tool server: ``pool_inconsistency`` for AI assistants (stdio and HTTP)."""
