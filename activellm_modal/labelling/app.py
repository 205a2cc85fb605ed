"""The labelling page's web app (FastAPI): one static page and a small JSON API.

Routes: ``GET /`` (the page), ``GET /api/state``, ``POST /api/label``,
``POST /api/undo``, ``POST /api/retry``, ``GET /api/export.csv`` and
``GET /api/export.jsonl``. A label is confirmed (HTTP 200) only after its
transaction is committed.

The page never builds HTML from texts (it sets ``textContent``), the Content
Security Policy forbids inline scripts, only JSON bodies are accepted (a form
on another site cannot post labels) and only the loopback host names are
served (no DNS rebinding).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from activellm_modal.exceptions import LabelConflictError, LabellingError
from activellm_modal.labelling.session import LabellingSession

STATIC = Path(__file__).with_name("static")
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class LabelIn(BaseModel):
    """A label from the page: ``label`` null means skip."""

    row: int
    label: str | None = None
    client: str = Field(default="api", max_length=64)


class ClientIn(BaseModel):
    """Who asks (a tab's random id), for undo."""

    client: str = Field(default="api", max_length=64)


def create_app(session: LabellingSession, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The app for one running :class:`LabellingSession`."""
    app = FastAPI(title="activellm-modal label", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return JSONResponse({"detail": "send JSON (Content-Type: application/json)"}, 415)
        response = await call_next(request)
        response.headers.update(_HEADERS)
        return response

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/api/state")
    def state() -> dict[str, Any]:
        return session.state()

    @app.post("/api/label")
    def label(body: LabelIn) -> JSONResponse:
        try:
            event = session.label(body.row, body.label, body.client)
        except LabelConflictError as error:
            return JSONResponse({"detail": str(error), "state": session.state()}, 409)
        except LabellingError as error:
            raise HTTPException(422, str(error)) from None
        return JSONResponse({"saved": event, "row": body.row, "state": session.state()})

    @app.post("/api/undo")
    def undo(body: ClientIn) -> dict[str, Any]:
        return {"undone": session.undo(body.client), "state": session.state()}

    @app.post("/api/retry")
    def retry(body: ClientIn) -> dict[str, Any]:
        session.kick(retry=True)
        return {"state": session.state()}

    @app.get("/api/export.{kind}")
    def export(kind: str) -> Response:
        if kind not in ("csv", "jsonl"):
            raise HTTPException(404, "export as .csv or .jsonl")
        with tempfile.TemporaryDirectory() as folder:
            path = session.store.export(Path(folder) / f"labels.{kind}")
            content = path.read_bytes()
        media = "text/csv" if kind == "csv" else "application/x-ndjson"
        return Response(
            content,
            media_type=f"{media}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="labels.{kind}"'},
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
