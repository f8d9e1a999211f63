"""Fixloop's MCP server: read-only tools scoped to one incident, for the coding agent working on it."""
