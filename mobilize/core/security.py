"""Security headers on every response."""

from flask import Flask, g

CSP = (
    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'self'; object-src 'none'; frame-ancestors {ancestors}"
)


def embeddable() -> None:
    """Let the current response be framed by other sites (embed widgets)."""
    g.embeddable = True


def register_security_headers(app: Flask) -> None:
    common = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}
    if app.config.get("SESSION_COOKIE_SECURE", False):
        common["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # Built once: this runs on every response, calendar polls included.
    framed = [*{"Content-Security-Policy": CSP.format(ancestors="*"), **common}.items()]
    unframed = [*{"Content-Security-Policy": CSP.format(ancestors="'none'"), "X-Frame-Options": "DENY",
                  **common}.items()]

    @app.after_request
    def headers(response):
        present = response.headers
        for name, value in framed if g.get("embeddable", False) else unframed:
            if name not in present:
                present[name] = value
        return response
