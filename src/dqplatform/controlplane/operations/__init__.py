"""Data operations: requests, their lifecycle from queued to finished, and their recovery."""
