"""HTTP surface: webhook, read API, operations endpoints and the on-call page."""
