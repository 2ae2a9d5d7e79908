"""The audit log: append, the keyed chain and its head, verification."""
