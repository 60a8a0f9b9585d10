"""Quality checks: rules on one field of one container, evaluated by scan operations."""
