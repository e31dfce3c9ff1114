"""ASGI entry point for uvicorn: ``uvicorn servicepoint.asgi:app``."""

from servicepoint.access_log import quiet_routine_polling
from servicepoint.app import create_app

quiet_routine_polling()
app = create_app()
