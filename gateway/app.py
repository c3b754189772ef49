"""The Flask application factory: the gateway's endpoints, the console and every channel's web side.

Only web processes import this module (`serve`, `demo`, the tests): the
channels are installed by `gateway.channel_packages`, and each channel's
web side (`Channel.web`, its blueprint) is imported here, so a worker never
loads Flask.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.channel_packages import load_channels
from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.privacy import install_log_redaction
from gateway.core.runtime import Gateway

# The policy of every answer that sets none of its own (JSON, TwiML, the demo pages):
# nothing from elsewhere, no script, no framing; inline style for the demo pages.
DEFAULT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# Set on every answer that does not set them itself (header names in lower case to compare).
DEFAULT_HEADERS = (
    ("Content-Security-Policy", DEFAULT_CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    # Nothing dynamic is cached on a shared device or a proxy; static files set their own.
    ("Cache-Control", "no-store"),
)
_DEFAULT_HEADER_KEYS = tuple((name.lower(), name, value) for name, value in DEFAULT_HEADERS)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once.

    Flask builds it for every request, needed or not (only the demo
    simulators use a session); on a webhook that cost more than the
    signature check. The serializer is rebuilt if the keys change.
    """

    def __init__(self) -> None:
        self._built: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        fallbacks = app.config["SECRET_KEY_FALLBACKS"] or ()
        keys = (app.secret_key, *fallbacks)
        built = self._built
        if built is None or built[0] != keys:
            built = (keys, super().get_signing_serializer(app))
            self._built = built
        return built[1]


def create_app(
    settings: Settings | Mapping[str, str] | None = None, gateway: Gateway | None = None
) -> Flask:
    """Build the web application.

    The gateway's own endpoints and the console are imported here, not at the
    top: `gateway.processes` imports this module for the web server, and the
    worker never serves a page (bench/README.md, memory).

    Args:
        settings: `Settings`, or a mapping of environment names (tests), or
            None to read the environment.
        gateway: an existing `Gateway` to share (the demo and tests).
    """
    from gateway import console
    from gateway.web import attachments, demo_tracker, health, tracker_callback
    from gateway.web.request_limits import RequestLineLimit

    if gateway is None:
        if settings is None:
            settings = Settings.load()
        elif not isinstance(settings, Settings):
            settings = Settings.load(environ=settings, data_dir=settings.get("GATEWAY_DATA_DIR"))
        gateway = Gateway.from_settings(settings)
    runtime.install(gateway)
    app = Flask(__name__)
    # "//x" is not redirected to "/x": a provider that follows the 308 would post
    # the same webhook twice, and a path no route has is a plain 404.
    app.url_map.merge_slashes = False
    app.config.update(
        SECRET_KEY=gateway.settings.secret_key,
        MAX_CONTENT_LENGTH=gateway.settings.max_upload_bytes + 256 * 1024,
        SESSION_COOKIE_SECURE=bool(
            gateway.settings.public_base_url
            and gateway.settings.public_base_url.startswith("https://")
        ),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions["gateway"] = gateway
    # A request line longer than Kannel's longest SMS needs: 414 under any server.
    app.wsgi_app = RequestLineLimit(app.wsgi_app)  # type: ignore[method-assign]
    proxies = int(gateway.settings.get("GATEWAY_TRUSTED_PROXIES", "0") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    for module in (health, attachments, tracker_callback, console):
        app.register_blueprint(module.blueprint)
    registry = load_channels()
    for channel in registry.channels:
        if channel.web is not None:
            app.register_blueprint(importlib.import_module(channel.web).blueprint)
    # A channel's misconfiguration: a warning line each; unreadable settings stop here.
    for channel_name, warning in registry.warnings(gateway.settings):
        logging.getLogger(f"channels.{channel_name}").warning("%s", warning)
    if gateway.settings.get("GATEWAY_DEMO_TRACKER") == "1":
        app.register_blueprint(demo_tracker.blueprint)

    app.session_interface = CookieSessions()

    @app.after_request
    def _headers(response: Response) -> Response:
        # Pages with a policy of their own (web form, console) keep it; the rest get this one.
        present = {name.lower() for name, _value in response.headers}
        for key, name, value in _DEFAULT_HEADER_KEYS:
            if key not in present:
                response.headers.add(name, value)
        return response

    logging.getLogger("werkzeug").disabled = True  # its access log carries client IPs
    install_log_redaction(app.logger)
    return app


def gateway_of(app: Flask) -> Gateway:
    return app.extensions["gateway"]  # type: ignore[no-any-return]
