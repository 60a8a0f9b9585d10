"""Connections: the databases the platform reaches, with their passwords encrypted at rest."""
