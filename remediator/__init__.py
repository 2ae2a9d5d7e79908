"""remediator: Prometheus-driven remediation with guards and a durable audit log."""

__version__ = "0.1.0"
