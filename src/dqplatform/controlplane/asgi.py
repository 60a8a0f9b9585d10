"""The ASGI entry point servers import: the app built from the environment's settings."""

from dqplatform.controlplane.app import create_app

# A server process runs this one app for its whole life (create_app says why that matters).
app = create_app(freeze_gc_after_start=True)
