"""Reusable test helpers: plain functions and context managers, no fixtures.

- `payloads`: Alertmanager webhook payloads.
- `postgres`: a real PostgreSQL server.
- `promstack`: real Prometheus and Alertmanager, a test exporter, a webhook sink.
"""
