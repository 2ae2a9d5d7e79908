"""Decisions carried out: the worker, preflight, preconditions, verification."""
