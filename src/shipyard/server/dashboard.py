"""The dashboard: the web client's built files (``web/`` built by Vite into ``static/``), served at ``/``.

Any ``GET`` outside ``/api`` that names no built file answers ``index.html``, so that a deep link into the
single-page app opens the page it names. Hashed files under ``assets/`` are cached for a year; ``index.html``
is revalidated on every load so that a new build is picked up at once.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException

from shipyard.server.problems import problem

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
BUILD_COMMAND = "make web"


class OutsideApiPath(Convertor):
    """Any path that is not under ``api/``, so that unknown API routes keep answering their 404 problem."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("outside_api", OutsideApiPath())


def install(app: FastAPI, directory: Path = STATIC_DIR) -> None:
    """Serve the dashboard built into ``directory`` at ``/``; add after every other route."""
    root = directory.resolve()

    @app.api_route("/{path:outside_api}", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard(path: str, request: Request) -> Response:
        index = root / "index.html"
        if not index.is_file():
            return _not_built(request, root)
        found = _built_file(root, path)
        if found is not None:
            cache = IMMUTABLE if path.startswith(ASSETS_PREFIX) else REVALIDATE
            return FileResponse(found, headers={"Cache-Control": cache})
        if path.startswith(ASSETS_PREFIX):
            raise HTTPException(404)
        return FileResponse(index, media_type="text/html", headers={"Cache-Control": REVALIDATE})


def _built_file(root: Path, path: str) -> Path | None:
    """The file ``path`` names inside ``root``; None when there is none or the path leaves ``root``."""
    if not path:
        return None
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _not_built(request: Request, root: Path) -> Response:
    detail = (f"the dashboard's files are not in {root}: this copy of shipyard was installed from source "
              "without building the web client")
    hint = f"run `{BUILD_COMMAND}` in the source tree (it needs Node 20), or install the wheel, which carries them"
    if "text/html" in request.headers.get("accept", ""):
        page = (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>shipyard: dashboard not built"
                f"</title></head><body><h1>The dashboard is not built</h1><p>{html.escape(detail)}.</p>"
                f"<p>{html.escape(hint)}.</p><p>The API answers at <a href=/api/v1/health>/api/v1</a> "
                f"(<a href=/docs>OpenAPI</a>).</p></body></html>")
        return HTMLResponse(page, status_code=503)
    return problem(503, title="dashboard not built", detail=detail, hint=hint, kind="dashboard-not-built")
