"""Typed clients of the services we read: Prometheus and Alertmanager."""
