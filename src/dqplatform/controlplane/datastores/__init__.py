"""Datastores: where the data is, a database on a connection or files under a path."""
