"""HTTP hardening for the whole app: the real client address behind trusted proxies (and the address that
per-address limits count), and security headers.

Headers are set by one `after_request` hook from fixed values rather than by Flask-Talisman: its last
release (1.1.0, 2023) predates Flask 3.1, and its defaults (redirect to https, forcing secure session
cookies, HSTS everywhere) would have to be switched off one by one here, where the proxy terminates TLS and
the cookie flags already come from APP_ENV. Each header uses `setdefault`, so a view that needs another
value sets its own.

The policy fits what the pages load: every script is a file from this origin (the back-office's own
behaviour is in static/app.js, the editor is one Vite-built module, the web-chat widget is
/webchat/widget.js), so scripts need no 'unsafe-inline'. Styles do: a few templates use `style=`
attributes, the widget writes its `<style>` into its shadow root and the demo page has a `<style>` block.
Bootstrap's icons are `data:` images. Flask-Admin (/admin) puts `onclick` handlers in its templates (the
delete confirmation, bulk actions), so its pages allow inline scripts.

The web-chat widget runs on customers' sites: those pages' policies are theirs, and its script and JSON
endpoints answer other origins as before (CORS is set by webapp/webchat); none of these headers limits a
cross-origin `<script src>` or `fetch` (no Cross-Origin-Resource-Policy is sent).
"""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
ADMIN_PATH = "/admin"
HSTS = "max-age=31536000"


def client_address() -> str:
    """The client's address for counting: IPv6 clients by their /64, which one subscriber usually holds
    whole (counting single IPv6 addresses would give an attacker billions of buckets)."""
    address = request.remote_addr or "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def policy(**changes: str) -> str:
    return "; ".join(f"{name} {value}" for name, value in {**CSP, **changes}.items())


def init_app(app: Flask) -> None:
    """Wrap the WSGI app in ProxyFix when TRUSTED_PROXIES > 0 and add the security headers."""
    proxies = int(app.config.get("TRUSTED_PROXIES", 0) or 0)
    if proxies:
        # Only the headers every reverse proxy sets: trusting X-Forwarded-Host from a proxy that passes a
        # client's value through would let the client choose our external URLs.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
    }
    if app.config.get("ENV_NAME") == "production":
        # Browsers ignore it over plain http, so it is sent whatever the scheme the proxy reports.
        headers["Strict-Transport-Security"] = HSTS
    page_policy = policy()
    admin_policy = policy(**{"script-src": "'self' 'unsafe-inline'"})

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        admin = request.path == ADMIN_PATH or request.path.startswith(ADMIN_PATH + "/")
        response.headers.setdefault("Content-Security-Policy", admin_policy if admin else page_policy)
        return response
