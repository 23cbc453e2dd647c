"""The settings a request's plane functions run with: the app's."""

from __future__ import annotations

from fastapi import Request

from shipyard.config import Settings


def app_settings(request: Request) -> Settings:
    return request.app.state.settings
