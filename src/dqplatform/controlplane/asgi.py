"""The ASGI entry point servers import: the app built from the environment's settings."""

from dqplatform.controlplane.app import create_app

app = create_app()
