"""The dashboard: today's figures for the libraries in the staff member's scope, with live parts."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from server.db import utcnow
from server.reports.charts import bar_chart
from server.reports.service import dashboard
from server.web.core import WebDep

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(web: WebDep) -> HTMLResponse:
    figures = dashboard(web.session, web.principal.scope(), utcnow())
    _ = web._
    chart = bar_chart(figures.days, [(_("Loans"), figures.loans_per_day), (_("Returns"), figures.returns_per_day)],
                      title=_("Loans and returns, last 30 days"))
    return web.render("home.html", figures=figures, chart=chart)


@router.get("/live/summary.json")
def live_summary(web: WebDep) -> JSONResponse:
    """The dashboard's live counters, polled by the page."""
    figures = dashboard(web.session, web.principal.scope(), utcnow(), days=1)
    return JSONResponse({
        "loans_today": figures.loans_today,
        "returns_today": figures.returns_today,
        "devices_online": figures.devices_online,
        "devices_offline": figures.devices_offline,
        "alarms_open": figures.alarms_open,
    })
