"""Rules as loaded from YAML: the model, action specs, matchers, templating, the index."""
