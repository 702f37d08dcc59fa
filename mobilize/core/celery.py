"""Celery wired as in Flask's "Background Tasks with Celery" pattern."""

from celery import Celery, Task

from mobilize.schedule import BEAT_SCHEDULE

EMBEDDED_POLLING_INTERVAL = 0.5


def celery_init_app(app) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    # The outbox sweep runs twice per MAIL_REQUEUE_AFTER: mail whose queue message was lost goes out within 1.5x that.
    sweep = {**BEAT_SCHEDULE["requeue-stale-mail"], "schedule": app.config["MAIL_REQUEUE_AFTER"] / 2}
    celery_app.conf.beat_schedule = {**BEAT_SCHEDULE, "requeue-stale-mail": sweep}
    if celery_app.conf.broker_url.startswith("sqla+"):
        # Kombu passes transport options to create_engine, so the polling
        # interval of the embedded broker is set on the transport class.
        from kombu.transport import sqlalchemy as kombu_sqla

        kombu_sqla.Transport.polling_interval = EMBEDDED_POLLING_INTERVAL
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
