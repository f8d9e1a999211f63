"""Slash commands (``/fixloop ...``): the grammar, the handler, one module per group of commands."""
