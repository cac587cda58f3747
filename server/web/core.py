"""The plumbing every staff page shares: the signed session cookie, CSRF, the request context, rendering.

The session lives only in a cookie signed with ``settings.secret_key`` (itsdangerous), HTTP-only,
SameSite=Lax, ``Secure`` unless ``http.public_url`` is plain http. It carries the staff id, a CSRF token, the
password-change time (changing the password ends other sessions) and the language. Errors raised here are
turned into pages by :mod:`server.web.errors`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from server.db import Database
from server.settings import ServerSettings
from server.staff.models import StaffUser
from server.staff.service import Principal, load_principal
from server.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, gettext_for, pick

log = logging.getLogger(__name__)

PREFIX = "/web"
COOKIE = "thuvien_staff"
LANG_COOKIE = "thuvien_lang"
SESSION_SECONDS = 8 * 3600
MAX_BODY_BYTES = 2 * 1024 * 1024
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


class WebError(Exception):
    """Base of the errors the staff pages turn into a page of their own."""


class NotSignedIn(WebError):
    def __init__(self, expired: bool = False) -> None:
        self.expired = expired
        super().__init__("expired" if expired else "not signed in")


class CsrfRejected(WebError):
    pass


class NotFoundPage(WebError):
    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(what)


class BodyTooLarge(WebError):
    pass


def serializer(settings: ServerSettings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt="thuvien-staff-session")


def secure_cookies(settings: ServerSettings) -> bool:
    public = settings.http.public_url
    if public is not None:
        return public.startswith("https://")
    return not settings.demo


def password_stamp(user: StaffUser) -> str:
    return user.password_changed_at.isoformat() if user.password_changed_at else ""


def session_cookie_value(settings: ServerSettings, user: StaffUser, language: str) -> str:
    payload = {"u": user.id, "c": secrets.token_urlsafe(24), "p": password_stamp(user), "l": language}
    return serializer(settings).dumps(payload)


def set_session_cookie(response: Any, settings: ServerSettings, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=SESSION_SECONDS, httponly=True, secure=secure_cookies(settings),
        samesite="lax", path=PREFIX,
    )


def clear_session_cookie(response: Any, settings: ServerSettings) -> None:
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, secure=secure_cookies(settings), samesite="lax")


def read_session(settings: ServerSettings, raw: str | None) -> dict[str, Any] | None:
    """The cookie's payload; None when absent; raises :class:`NotSignedIn` (expired) when too old."""
    if not raw:
        return None
    try:
        payload: dict[str, Any] = serializer(settings).loads(raw, max_age=SESSION_SECONDS)
    except SignatureExpired as exc:
        raise NotSignedIn(expired=True) from exc
    except BadSignature:
        log.warning("staff session cookie with a bad signature refused")
        return None
    return payload


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def request_language(request: Request, session_language: str | None = None) -> str:
    for candidate in (request.query_params.get("lang"), session_language, request.cookies.get(LANG_COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT_LANGUAGE


@dataclass
class Web:
    """What a staff page handler receives: the transaction, who is asking, and how to answer them."""

    request: Request
    settings: ServerSettings
    db: Database
    session: Session
    principal: Principal
    csrf: str
    language: str
    ip: str | None
    notices: list[str] = field(default_factory=list)

    @property
    def _(self) -> Callable[[str], str]:
        return gettext_for(self.language)

    def actor(self) -> dict[str, Any]:
        return {"actor_kind": "staff", "actor_id": str(self.principal.user_id), "ip": self.ip}

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        return render_page(self.request, template, status_code=status_code, web=self, **values)


_env_cache: dict[str, Environment] = {}


def environment() -> Environment:
    env = _env_cache.get("env")
    if env is None:
        env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["vnd"] = lambda value: f"{int(value or 0):,}".replace(",", ".") + " đ"
        env.filters["when"] = _format_when
        env.filters["day"] = lambda value: value.strftime("%d/%m/%Y") if value else ""
        _env_cache["env"] = env
    return env


def _format_when(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y %H:%M")


def render_page(
    request: Request, template: str, *, status_code: int = 200, web: Web | None = None,
    language: str | None = None, **values: Any,
) -> HTMLResponse:
    lang = web.language if web is not None else (language or request_language(request))
    _ = gettext_for(lang)
    context = {
        "_": _,
        "pick": lambda text: pick(text, lang),
        "lang": lang,
        "web": web,
        "principal": web.principal if web else None,
        "csrf": web.csrf if web else "",
        "prefix": PREFIX,
        "path": request.url.path,
        "quote": quote,
        **values,
    }
    html = environment().get_template(template).render(context)
    return HTMLResponse(html, status_code=status_code)


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings
    return settings


def web_context(request: Request) -> Iterator[Web]:
    """Open the request's transaction and identify the staff member; raise :class:`NotSignedIn` if nobody."""
    settings = get_settings(request)
    payload = read_session(settings, request.cookies.get(COOKIE))
    if payload is None:
        raise NotSignedIn()
    db = get_db(request)
    # A form submission writes: on SQLite take the write lock at BEGIN so that the read-then-write of the request
    # never meets a stale snapshot. The desk's forms are the exception: the circulation service runs its own
    # write transactions (see server.web.pages.desk), so the request keeps to reading.
    writes = request.method == "POST" and not request.url.path.startswith(f"{PREFIX}/desk/")
    with db.write() if writes else db.session() as session:
        principal = load_principal(session, int(payload["u"]))
        user = session.get(StaffUser, int(payload["u"])) if principal is not None else None
        if principal is None or user is None or password_stamp(user) != payload.get("p", ""):
            raise NotSignedIn(expired=True)
        yield Web(
            request=request,
            settings=settings,
            db=db,
            session=session,
            principal=principal,
            csrf=str(payload["c"]),
            language=request_language(request, payload.get("l")),
            ip=client_ip(request),
        )


# The transaction ends with the page function, before the response goes out: a redirect after a form post
# must never reach the browser ahead of the commit it announces.
WebDep = Annotated[Web, Depends(web_context, scope="function")]


def checked_post(web: WebDep, csrf: Annotated[str, Form()] = "") -> Web:
    """A form submission: the CSRF token in the form must be the one in the signed session cookie."""
    header = web.request.headers.get("x-csrf-token", "")
    token = csrf or header
    if not token or not secrets.compare_digest(token, web.csrf):
        raise CsrfRejected(web.request.url.path)
    return web


PostDep = Annotated[Web, Depends(checked_post)]


def redirect(url: str, status_code: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status_code)
