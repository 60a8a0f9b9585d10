"""The controlplane database: engine, models base, sessions and migrations."""
