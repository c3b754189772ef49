"""The Flask application factory and the composition root of the channels.

`CHANNEL_PACKAGES` is the one list of channel packages; each describes
itself with a `CHANNEL` (gateway.core.providers.Channel). `load_channels`
installs them once at start-up: the web application mounts their
blueprints, the worker finds their senders, cleaners and handlers, the
command line their commands, all through `gateway.core.providers.installed()`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

import channels.hotline_ivr
import channels.sms
import channels.telegram
import channels.web_form
from gateway import console
from gateway.core import providers, runtime
from gateway.core.config import Settings
from gateway.core.privacy import install_log_redaction
from gateway.core.providers import Registry
from gateway.core.runtime import Gateway
from gateway.web import attachments, demo_tracker, health, tracker_callback
from gateway.web.request_limits import RequestLineLimit

# The channel packages, each exposing `CHANNEL` (its blueprint, providers, commands, checks).
CHANNEL_PACKAGES: tuple[ModuleType, ...] = (
    channels.telegram,
    channels.sms,
    channels.web_form,
    channels.hotline_ivr,
)
# The policy of every answer that sets none of its own (JSON, TwiML, the demo pages):
# nothing from elsewhere, no script, no framing; inline style for the demo pages.
DEFAULT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
GATEWAY_BLUEPRINTS: tuple[ModuleType, ...] = (health, attachments, tracker_callback, console)


def load_channels() -> Registry:
    """Install every channel package's `CHANNEL` (again: installing twice changes nothing)."""
    return providers.install(package.CHANNEL for package in CHANNEL_PACKAGES)


def create_app(
    settings: Settings | Mapping[str, str] | None = None, gateway: Gateway | None = None
) -> Flask:
    """Build the web application.

    Args:
        settings: `Settings`, or a mapping of environment names (tests), or
            None to read the environment.
        gateway: an existing `Gateway` to share (the demo and tests).
    """
    if gateway is None:
        if settings is None:
            settings = Settings.load()
        elif not isinstance(settings, Settings):
            settings = Settings.load(environ=settings, data_dir=settings.get("GATEWAY_DATA_DIR"))
        gateway = Gateway.from_settings(settings)
    runtime.install(gateway)
    app = Flask(__name__)
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
    for module in GATEWAY_BLUEPRINTS:
        app.register_blueprint(module.blueprint)
    registry = load_channels()
    for channel in registry.channels:
        if channel.blueprint is not None:
            app.register_blueprint(channel.blueprint)
    # A channel's misconfiguration: a warning line each; unreadable settings stop here.
    for channel_name, warning in registry.warnings(gateway.settings):
        logging.getLogger(f"channels.{channel_name}").warning("%s", warning)
    if gateway.settings.get("GATEWAY_DEMO_TRACKER") == "1":
        app.register_blueprint(demo_tracker.blueprint)

    @app.after_request
    def _headers(response: Response) -> Response:
        # Pages with a policy of their own (web form, console) keep it; the rest get this one.
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Nothing dynamic is cached on a shared device or a proxy; static files set their own.
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    logging.getLogger("werkzeug").disabled = True  # its access log carries client IPs
    install_log_redaction(app.logger)
    return app


def gateway_of(app: Flask) -> Gateway:
    return app.extensions["gateway"]  # type: ignore[no-any-return]
