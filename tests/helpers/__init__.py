"""Helpers the tests share (fixtures live in conftest.py files; these are plain functions and constants)."""
