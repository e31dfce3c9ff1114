"""ASGI entry point for uvicorn: ``uvicorn servicepoint.asgi:app``."""

from servicepoint.app import create_app

app = create_app()
