"""The HTTP API (`dealerpolicy serve`): FastAPI app factory, routes, auth, problems, metrics, reload."""

from dealerpolicy.service.app import create_app

__all__ = ["create_app"]
