"""The dataplane: the process that owns Spark and runs data operations."""
