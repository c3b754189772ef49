"""The memory benchmark's floor: a Flask app with one route and nothing else imported.

gunicorn serves it as `bench._bare_flask:app` with the settings
`complaint-gateway serve` uses, so the difference in memory between the two
web processes is what the gateway itself brings (its libraries, its app,
its caches). Keep this module free of any other import: an import here
would raise the floor and hide part of the gateway's cost.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "ok"
