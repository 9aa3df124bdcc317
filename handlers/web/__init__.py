"""The web side: one Starlette app with the health check, the Slack endpoint and the customer's
approval pages."""

from handlers.web.app import create_web_app

__all__ = ["create_web_app"]
