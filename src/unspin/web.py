"""HTTP API and web page: ``create_app()`` for ``unspin serve`` or any ASGI server.

Endpoints answer with the same JSON as ``unspin ... --format json``; every
error is ``{"error": "<one line>"}`` with a 4xx/5xx status, never a traceback.

The CPU work runs in a small thread pool so the event loop keeps answering
(health checks, other requests); ``asyncio.wait_for`` bounds each request.
A request that times out is abandoned (Python threads cannot be killed), so
``max_bytes`` is what really bounds the work one request can cause.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .text import InputError, check_text

log = logging.getLogger("unspin.web")
T = TypeVar("T")

DEFAULT_MAX_BYTES = 200_000  # ~30k words: a long article, well under the time limit
DEFAULT_TIMEOUT = 20.0  # seconds per request, queueing included
DEFAULT_WORKERS = 2  # the work holds the GIL; more threads only add contention
STATIC = Path(__file__).with_name("static")
# The page loads nothing from elsewhere; a strict policy makes any injected
# markup inert even if an escaping bug slipped through.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


# -- request bodies ------------------------------------------------------------


class _Body(BaseModel):
    # Unknown fields are rejected so a typo ("confidance") is not silently ignored.
    # strict: true is not 1.0 and "0.5" is not 0.5 (a JSON number is required)
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(description="the text to analyse (UTF-8 prose)")


class RestoreRequest(_Body):
    confidence: float | None = Field(
        None, ge=0.0, le=1.0,
        description="minimum confidence for a change (default: the calibrated threshold)",
    )


class DetectRequest(_Body):
    threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="P(spun) for the 'spun' verdict (default: calibrated)"
    )


class TraceRequest(_Body):
    top: int = Field(5, ge=1, le=50, description="how many verified sources to return")


# -- body size limit -----------------------------------------------------------


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Reject bodies over ``max_bytes`` with 413, by Content-Length or while streaming.

    Pure ASGI (not BaseHTTPMiddleware) so chunked uploads are counted as they
    arrive and never buffered past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._reject(send)
            return
        seen = 0
        over = False  # set once the streamed body passes the limit
        swallowed = False

        async def counting_receive() -> Message:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _TooLarge
            return msg

        async def guarded_send(msg: Message) -> None:
            # FastAPI turns errors while reading the body into its own 400; once
            # the limit is passed, answer 413 instead of whatever comes back.
            nonlocal swallowed
            if over:
                if msg["type"] == "http.response.start":
                    swallowed = True
                    await self._reject(send)
                return
            await send(msg)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not swallowed:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await JSONResponse(
            {"error": f"request body is larger than {self.max_bytes:,} bytes; "
                      "send a shorter text"},
            status_code=413,
        )({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:  # JSONResponse never reads the request
    return {"type": "http.disconnect"}


# -- the app ---------------------------------------------------------------------


def _validation_message(exc: RequestValidationError) -> str:
    """One readable line from pydantic's error list, e.g. 'confidence: Input should be ...'."""
    parts = []
    for e in exc.errors()[:3]:
        if e.get("type") == "json_invalid":
            parts.append("request body is not valid JSON")
            continue
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "body")
        msg = e.get("msg", "invalid value")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def create_app(
    index_path: str | os.PathLike[str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DEFAULT_WORKERS,
) -> FastAPI:
    """The ASGI app. Models load once, at startup (the lifespan), not per request.

    ``index_path`` enables ``/api/trace``; a missing or foreign index file
    raises :class:`InputError` here, before anything is served.
    """
    index_file = None if index_path is None else str(index_path)
    if index_file is not None:
        from .index import Index

        Index.existing(index_file).close()  # check the schema at start, not per request

    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from .detect import Detector
        from .restore import Restorer

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unspin")
        # SQLite connections belong to the thread that opened them: the index
        # lives in its own single thread.
        trace_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unspin-trace")
        loop = asyncio.get_running_loop()
        restorer = await loop.run_in_executor(pool, Restorer)
        state.update(
            pool=pool,
            trace_pool=trace_pool,
            restorer=restorer,
            detector=await loop.run_in_executor(pool, Detector, restorer),
        )
        if index_file is not None:
            from .index import Index

            state["index"] = await loop.run_in_executor(trace_pool, Index, index_file)
        try:
            yield
        finally:
            if "index" in state:
                await loop.run_in_executor(trace_pool, state["index"].close)
            pool.shutdown(wait=False, cancel_futures=True)
            trace_pool.shutdown(wait=False, cancel_futures=True)
            state.clear()

    app = FastAPI(
        title="unspin",
        version=__version__,
        description="Find text produced by article spinners, restore the original wording, "
        "and explain every change. Responses match `unspin ... --format json`.",
        lifespan=lifespan,
    )
    app.state.unspin = state

    async def run(fn: Callable[..., T], *args: Any, pool: str = "pool") -> T:
        if "restorer" not in state:
            raise HTTPException(503, "the models are not loaded yet; retry in a moment")
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(state[pool], fn, *args)
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise HTTPException(
                503, f"the request took longer than {timeout:g} s; send a shorter text "
                "or retry when the server is less busy",
            ) from None

    def _checked(text: str) -> str:
        if not text.strip():
            raise InputError("text is empty")
        return check_text(text)

    # -- errors: one JSON shape, one line, no tracebacks -------------------------
    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI reads a body of another media type as no JSON at all and
        # says "should be a valid dictionary": the fault is the header.
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and media != "application/json":
            return JSONResponse(
                {"error": f"send the body as JSON with Content-Type: application/json "
                          f"(not {media or 'none'})"}, status_code=415)
        return JSONResponse({"error": _validation_message(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's own, for a body it cannot decode
            return JSONResponse({"error": "request body is not valid JSON (UTF-8)"},
                                status_code=422)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(sqlite3.DatabaseError)
    async def _damaged_index(request: Request, exc: sqlite3.DatabaseError) -> JSONResponse:
        log.error("index error on %s: %s", request.url.path, exc)
        return JSONResponse({"error": f"the index is damaged or unreadable ({exc})"},
                            status_code=503)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)  # server log only
        return JSONResponse({"error": "internal error"}, status_code=500)

    # -- API ------------------------------------------------------------------
    @app.get("/api/health", summary="liveness, version, limits and whether trace is on")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok" if "restorer" in state else "starting",
            "version": __version__,
            "index": index_file is not None,
            "max_bytes": max_bytes,
            "timeout": timeout,
        }

    @app.post("/api/restore", summary="restore the original wording (= `restore --format json`)")
    async def api_restore(body: RestoreRequest) -> dict[str, Any]:
        text = _checked(body.text)
        return (await run(lambda: state["restorer"].restore(text, body.confidence))).to_dict()

    @app.post("/api/detect", summary="how likely the text was spun (= `detect --format json`)")
    async def api_detect(body: DetectRequest) -> dict[str, Any]:
        text = _checked(body.text)

        def work() -> Any:
            detector = state["detector"]
            if body.threshold is not None:
                from .detect import Detector

                # Same restorer and weights, another threshold: nothing is reloaded.
                detector = Detector(detector.r, params=detector.p, threshold=body.threshold)
            return detector.detect(text)

        return (await run(work)).to_dict()

    def _require_index() -> None:
        if index_file is None:
            raise HTTPException(404, "trace is not enabled: start the server with "
                                     "`unspin serve --index FILE`")

    @app.post("/api/trace", summary="find the indexed source (= `trace --format json`)",
              responses={404: {"description": "no index configured"}})
    async def api_trace(body: TraceRequest) -> dict[str, Any]:
        _require_index()
        from .trace import trace

        text = _checked(body.text)
        result = await run(lambda: trace(text, state["index"], top=body.top), pool="trace_pool")
        return result.to_dict()

    @app.get("/api/source", summary="one indexed source document (for aligned passages)",
             responses={404: {"description": "no index, or no such document"}})
    async def api_source(id: str) -> dict[str, Any]:
        _require_index()

        def lookup() -> dict[str, Any] | None:
            idx = state["index"]
            row = idx.storage.doc_hash(id)
            if row is None:
                return None
            d = idx.doc(row[0])
            return {"id": d.id, "title": d.title, "url": d.url, "date": d.date, "text": d.text}

        found = await run(lookup, pool="trace_pool")
        if found is None:
            raise HTTPException(404, "no such document in the index")
        return found

    # -- the page ---------------------------------------------------------------
    page_headers = {
        "Content-Security-Policy": PAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=page_headers)

    # HEAD too (uptime checkers probe with it), kept out of the schema: one
    # operation per route there.
    app.add_api_route("/api/health", health, methods=["HEAD"], include_in_schema=False)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=max_bytes)
    return app

