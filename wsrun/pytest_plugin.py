"""pytest plugin: scenario files as test items (being written)."""
