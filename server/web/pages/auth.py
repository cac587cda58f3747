"""Signing in and out, changing the password, choosing the language."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from server.staff.service import (
    AccountLocked,
    LoginFailed,
    PasswordRejected,
    authenticate,
    change_password,
    set_language,
)
from server.web.core import (
    LANG_COOKIE,
    PREFIX,
    CsrfRejected,
    PostDep,
    WebDep,
    clear_session_cookie,
    client_ip,
    get_db,
    get_settings,
    redirect,
    render_page,
    request_language,
    secure_cookies,
    session_cookie_value,
    set_session_cookie,
)
from server.web.i18n import LANGUAGES

log = logging.getLogger(__name__)
router = APIRouter()

PRELOGIN_COOKIE = "thuvien_prelogin"


def _safe_next(target: str | None) -> str:
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def _login_page(request: Request, *, error: str | None = None, status_code: int = 200, next_url: str = "",
                username: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render_page(
        request, "login.html", status_code=status_code, error=error, next_url=next_url, login_token=token,
        expired=request.query_params.get("expired") == "1", username=username,
    )
    response.set_cookie(PRELOGIN_COOKIE, token, max_age=3600, httponly=True,
                        secure=secure_cookies(get_settings(request)), samesite="strict", path=PREFIX)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:  # noqa: A002 - the query parameter's name
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",  # noqa: A002
) -> Response:
    expected = request.cookies.get(PRELOGIN_COOKIE, "")
    if not csrf or not expected or not secrets.compare_digest(csrf, expected):
        raise CsrfRejected(request.url.path)
    settings = get_settings(request)
    language = request_language(request)
    error: str | None = None
    value = ""
    # The failure is caught inside the transaction so that the failed-login count is committed.
    with get_db(request).write() as session:
        try:
            user = authenticate(session, username, password, ip=client_ip(request))
            value = session_cookie_value(settings, user, language if LANG_COOKIE in request.cookies else user.language)
        except AccountLocked:
            error = "locked"
        except LoginFailed:
            error = "failed"
    if error is not None:
        log.info("staff login refused (%s) for %r", error, username[:64])
        return _login_page(request, error=error, status_code=401, next_url=_safe_next(next), username=username)
    response = redirect(_safe_next(next))
    set_session_cookie(response, settings, value)
    response.delete_cookie(PRELOGIN_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(web: PostDep) -> Response:
    from server.audit.service import record

    record(web.session, action="staff.logout", **web.actor())
    response = redirect(f"{PREFIX}/login")
    clear_session_cookie(response, web.settings)
    return response


@router.get("/password", response_class=HTMLResponse)
def password_form(web: WebDep) -> HTMLResponse:
    return web.render("password.html")


@router.post("/password")
def password_change(
    web: PostDep,
    old_password: Annotated[str, Form(max_length=256)] = "",
    new_password: Annotated[str, Form(max_length=256)] = "",
    confirm: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if new_password != confirm:
        return web.render("password.html", status_code=400, error="mismatch")
    try:
        user = change_password(web.session, web.principal.user_id, old_password, new_password, ip=web.ip)
        value = session_cookie_value(web.settings, user, web.language)
    except PasswordRejected as exc:
        return web.render("password.html", status_code=400, error=str(exc))
    response = web.render("password.html", done=True)
    set_session_cookie(response, web.settings, value)
    return response


@router.get("/lang/{language}")
def choose_language(request: Request, language: str, next: str = "") -> Response:  # noqa: A002
    """Remember the language in a cookie (and on the account when signed in); not a data change."""
    if language not in LANGUAGES:
        language = "vi"
    response = redirect(_safe_next(next))
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 86400, httponly=True,
                        secure=secure_cookies(get_settings(request)), samesite="lax", path=PREFIX)
    from server.web.core import COOKIE, read_session, serializer

    payload = read_session(get_settings(request), request.cookies.get(COOKIE))
    if payload is not None:
        payload["l"] = language
        set_session_cookie(response, get_settings(request), serializer(get_settings(request)).dumps(payload))
        with get_db(request).write() as session:
            set_language(session, int(payload["u"]), language)
    return response
