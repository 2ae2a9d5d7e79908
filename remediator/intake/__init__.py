"""Alerts in: the webhook's intake and writer, reconciliation and catch-up."""
