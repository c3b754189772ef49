"""The app gunicorn serves in bench/webhook.py: the gateway, plus the floor's bare endpoint.

`POST /_bench/floor` does one Redis write and answers 200: the least a
web request that touches the shared state can cost under the same server,
workers and client. It exists only in this benchmark's app instance,
never in the production routes.
"""

from __future__ import annotations

from flask import Response

from gateway.app import create_app

app = create_app()
FLOOR_KEY = "complaint-gateway:bench:floor"


@app.post("/_bench/floor")
def floor() -> Response:
    app.extensions["gateway"].redis.incr(FLOOR_KEY)
    return Response("", status=200)
