"""Flask's signed-cookie session, with its signer built once per process instead of twice a request."""

from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask builds a new itsdangerous serializer (which test-serializes a dict) in every
    open_session and save_session; one per secret key does the same work once."""

    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = self._serializers[key] = super().get_signing_serializer(app)
        return serializer
