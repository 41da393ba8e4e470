"""The browser coding workspace of ``qda serve`` (the only package importing the ASGI stack)."""

from qda.web.app import create_app, listen, run

__all__ = ["create_app", "listen", "run"]
