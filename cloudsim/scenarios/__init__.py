"""Scenarios: YAML files seeded as written, and generators for scale (``generated``)."""
