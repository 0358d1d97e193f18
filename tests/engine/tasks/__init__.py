"""Importable tasks for the execution tests."""
