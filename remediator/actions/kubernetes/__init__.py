"""Kubernetes actions: the client, each action, evidence snapshots, target checks."""
