"""Data operations the dataplane runs on Spark: one module per operation type."""
