"""The Celery app: celery -A worker worker / celery -A worker beat"""

from mobilize import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
