"""Helpers for the JupyterHub tests: a local mock of GitHub's OAuth and API endpoints."""
