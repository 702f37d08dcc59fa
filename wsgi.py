"""The WSGI app: gunicorn wsgi:app"""

from mobilize import create_app

app = create_app()
