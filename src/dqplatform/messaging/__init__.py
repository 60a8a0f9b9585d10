"""Messaging between the planes: the only place that knows queue names and message schemas."""
