"""The web edge: the REST API under ``/api/v1`` (and later the dashboard), over the facade."""

from cronwell.web.api import create_api

__all__ = ["create_api"]
