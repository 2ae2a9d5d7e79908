"""The service assembled: settings, the composition root (services), scheduler, logs, metrics."""
