"""Exporters: render computed results (matrices, tables) to files; they never query the store."""
