"""Every refusal of the staff web as a clear page, logged, in one place (nothing is changed by a refusal)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.audit.service import record
from server.staff.service import AccessDenied
from server.web.core import (
    COOKIE,
    MAX_BODY_BYTES,
    PREFIX,
    BodyTooLarge,
    CsrfRejected,
    NotFoundPage,
    NotSignedIn,
    client_ip,
    get_db,
    get_settings,
    read_session,
    render_page,
)

log = logging.getLogger(__name__)


def _actor(request: Request) -> str | None:
    try:
        payload = read_session(get_settings(request), request.cookies.get(COOKIE))
    except NotSignedIn:
        return None
    return str(payload["u"]) if payload else None


def _audit_refusal(request: Request, action: str, details: dict[str, object]) -> None:
    try:
        with get_db(request).write() as session:
            record(session, actor_kind="staff", actor_id=_actor(request), action=action,
                   details={"path": request.url.path, "method": request.method, **details}, ip=client_ip(request))
    except Exception:  # the refusal page must still be shown when the audit write fails
        log.exception("could not write the audit entry for %s", action)


async def not_signed_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotSignedIn)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"{PREFIX}/login?next={quote(target)}" + ("&expired=1" if exc.expired else "")
    if request.headers.get("accept", "").startswith("application/json"):
        return Response(status_code=401)
    response = RedirectResponse(url, status_code=303)
    if exc.expired:
        response.delete_cookie(COOKIE, path=PREFIX)
    return response


async def access_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessDenied)
    log.warning("staff %s refused %s (library %s) at %s", _actor(request), exc.what, exc.library_id, request.url.path)
    _audit_refusal(request, "access.denied", {"what": exc.what, "library_id": exc.library_id})
    return render_page(request, "refused.html", status_code=403, kind="access", what=exc.what)


async def csrf_rejected(request: Request, exc: Exception) -> Response:
    log.warning("forged or missing CSRF token on %s from %s", request.url.path, client_ip(request))
    _audit_refusal(request, "access.csrf_rejected", {})
    return render_page(request, "refused.html", status_code=403, kind="csrf", what="")


async def not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotFoundPage)
    return render_page(request, "refused.html", status_code=404, kind="missing", what=exc.what)


async def too_large(request: Request, exc: Exception) -> Response:
    _audit_refusal(request, "access.body_too_large", {})
    return render_page(request, "refused.html", status_code=413, kind="too_large", what="")


def install(app: FastAPI) -> None:
    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(AccessDenied, access_denied)
    app.add_exception_handler(CsrfRejected, csrf_rejected)
    app.add_exception_handler(NotFoundPage, not_found)
    app.add_exception_handler(BodyTooLarge, too_large)

    app.add_middleware(GuardWebPages)


# Headers every staff web answer carries (unless the page set its own).
SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"),
)


class GuardWebPages:
    """Under the staff web prefix: refuses request bodies without a length or over the limit before they are
    read, and adds the security headers to every answer. Other paths pass untouched (a plain ASGI middleware,
    so the protocol endpoints pay nothing for it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["method"] in ("POST", "PUT", "PATCH"):
            length = Headers(scope=scope).get("content-length")
            if length is None or not length.isdigit() or int(length) > MAX_BODY_BYTES:
                request = Request(scope, receive)
                log.warning("refused a %s-byte body on %s", length, request.url.path)
                _audit_refusal(request, "access.body_too_large", {"length": length})
                refusal = render_page(request, "refused.html", status_code=413, kind="too_large", what="")
                await refusal(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
