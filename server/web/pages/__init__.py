"""Every staff page, one module per area (gathered under ``/web`` by :func:`server.web.install`)."""
