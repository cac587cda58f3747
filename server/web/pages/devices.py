"""Devices (live status, telemetry, commands, provisioning) and gate alarms (live list, acknowledge, trend)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select

from server.db import utcnow
from server.devices.errors import DeviceError
from server.devices.models import DeviceKind
from server.libraries.models import Library
from server.reports.charts import bar_chart, line_chart
from server.staff import devices as ops
from server.staff.service import Level
from server.web.core import PREFIX, NotFoundPage, PostDep, WebDep, redirect

log = logging.getLogger(__name__)
router = APIRouter()


def _device_json(device: object, library: Library) -> dict[str, object]:
    from server.devices.models import Device

    assert isinstance(device, Device)
    return {
        "device_id": device.device_id,
        "kind": device.kind.value,
        "library": library.isil,
        "state": device.state.value,
        "last_seen": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "reader_state": device.reader_state,
        "outbox_depth": device.outbox_depth,
    }


@router.get("/devices", response_class=HTMLResponse)
def device_list(web: WebDep) -> HTMLResponse:
    rows = ops.devices_in_scope(web.session, web.principal)
    libraries = web.session.scalars(
        select(Library).where(Library.id.in_(web.principal.scope(Level.ADMINISTER))).order_by(Library.id)
    ).all()
    return web.render("devices.html", rows=rows, libraries=libraries, kinds=[k.value for k in DeviceKind])


@router.get("/live/devices.json")
def device_live(web: WebDep) -> JSONResponse:
    return JSONResponse({"devices": [_device_json(d, lib) for d, lib in ops.devices_in_scope(web.session,
                                                                                             web.principal)]})


@router.get("/devices/{device_id}", response_class=HTMLResponse)
def device_view(web: WebDep, device_id: str) -> HTMLResponse:
    try:
        device = ops.device_in_scope(web.session, web.principal, device_id)
    except ops.DeviceAdminError as exc:
        raise NotFoundPage(f"device {device_id}") from exc
    labels, series = ops.telemetry_series(web.session, device_id)
    chart = line_chart(labels, list(series.items())[:4], title=web._("Telemetry")) if labels else ""
    from server.devices import repository

    commands = repository.commands(web.session, device_id, 20)
    return web.render("device.html", device=device, chart=chart, commands=commands,
                      staff_commands=ops.STAFF_COMMANDS,
                      can_command=web.principal.allows(device.library_id, Level.CIRCULATE),
                      can_admin=web.principal.allows(device.library_id, Level.ADMINISTER))


@router.post("/devices/{device_id}/command")
def device_command(web: PostDep, device_id: str, name: Annotated[str, Form(max_length=32)]) -> Response:
    try:
        ops.send_command(web.session, web.principal, device_id, name, {}, ip=web.ip)
    except (ops.DeviceAdminError, DeviceError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not sent"), message=str(exc))
    return redirect(f"{PREFIX}/devices/{device_id}")


@router.post("/devices/new", response_class=HTMLResponse)
def device_new(
    web: PostDep,
    device_id: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=16)],
    library_id: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=255)] = "",
) -> HTMLResponse:
    try:
        provisioned = ops.provision(web.session, web.principal, device_id=device_id, kind=kind,
                                    library_id=library_id, name=name)
    except (ops.DeviceAdminError, DeviceError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not created"), message=str(exc))
    response = web.render("credentials.html", provisioned=provisioned)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/devices/{device_id}/rotate", response_class=HTMLResponse)
def device_rotate(web: PostDep, device_id: str) -> HTMLResponse:
    try:
        provisioned = ops.rotate(web.session, web.principal, device_id)
    except (ops.DeviceAdminError, DeviceError) as exc:
        return web.render("message.html", status_code=400, title=web._("Not changed"), message=str(exc))
    response = web.render("credentials.html", provisioned=provisioned)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/alarms", response_class=HTMLResponse)
def alarm_list(web: WebDep) -> HTMLResponse:
    rows = ops.alarms_in_scope(web.session, web.principal)
    labels, series = ops.alarm_trend(web.session, web.principal, now=utcnow())
    names = {"theft_attempt": web._("Theft attempt"), "security_write_failed": web._("Security write failed"),
             "unknown_tag": web._("Unknown tag")}
    chart = bar_chart(labels, [(names.get(k, k), v) for k, v in series.items()] or [(web._("Alarms"), [0] * 30)],
                      title=web._("Alarms per day"))
    return web.render("alarms.html", rows=rows, chart=chart, class_names=names,
                      may_ack=lambda lib: web.principal.allows(lib, Level.CIRCULATE))


@router.get("/live/alarms.json")
def alarm_live(web: WebDep) -> JSONResponse:
    rows = ops.alarms_in_scope(web.session, web.principal, limit=50)
    return JSONResponse({
        "open": ops.open_alarm_count(web.session, web.principal),
        "alarms": [
            {"id": r.alarm.id, "at": r.alarm.occurred_at.isoformat(), "device": r.alarm.device_id,
             "library": r.library_code, "barcode": r.alarm.item_barcode, "title": r.title,
             "classification": r.alarm.classification.value,
             "acknowledged": r.alarm.acknowledged_at is not None}
            for r in rows
        ],
    })


@router.post("/alarms/{alarm_id}/ack")
def alarm_ack(web: PostDep, alarm_id: int, note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        ops.acknowledge(web.session, web.principal, alarm_id, note, ip=web.ip)
    except ops.DeviceAdminError as exc:
        raise NotFoundPage(f"alarm {alarm_id}") from exc
    return redirect(f"{PREFIX}/alarms")
