"""The organizer's delivery plan form; the service checks the address, the zone and the times."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, StringField, TimeField, URLField
from wtforms.validators import DataRequired, Length, Optional

from mobilize.delivery.services import MAX_EVERY_N, PlanInput
from mobilize.events import times


class DeliveryPlanForm(FlaskForm):
    email_targets = BooleanField("Email each target a summary with a spreadsheet (CSV) of the new signatures")
    include_emails = BooleanField("Include signers' email addresses",
                                  description="Off by default: targets see names, places and comments only.")
    webhook_url = URLField("Webhook address", validators=[Optional(), Length(max=1000)],
                           render_kw={"placeholder": "https://example.org/petition-signatures"},
                           description="Optional. Each batch is POSTed as JSON, signed with the secret below.")
    # The service checks the range, so its errors and the others show together.
    every_n = IntegerField("Every … signatures", validators=[Optional()],
                           render_kw={"min": 1, "max": MAX_EVERY_N, "inputmode": "numeric"},
                           description="Deliver whenever this many new confirmed signatures are waiting.")
    daily_at = TimeField("Daily at", validators=[Optional()],
                         description="Deliver whatever is waiting at this time every day.")
    final_local = DateTimeLocalField("Final delivery", format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                     description="Once, at this time: everything not yet delivered.")
    timezone = StringField("Time zone", validators=[DataRequired("Choose a time zone."), Length(max=64)],
                           render_kw={"list": "timezone-names", "autocomplete": "off"},
                           description="For the daily time and the final delivery, e.g. America/Chicago.")

    def fill(self, plan) -> None:
        """Show a saved plan as the organizer entered it, times in the plan's zone."""
        self.email_targets.data, self.include_emails.data = plan.email_targets, plan.include_emails
        self.webhook_url.data, self.every_n.data = plan.webhook_url, plan.every_n
        self.daily_at.data, self.timezone.data = plan.daily_at, plan.timezone
        if plan.final_at:
            self.final_local.data = times.local(plan.final_at, plan.timezone).replace(tzinfo=None)

    def to_input(self) -> PlanInput:
        return PlanInput(
            email_targets=self.email_targets.data, include_emails=self.include_emails.data,
            webhook_url=self.webhook_url.data or "", every_n=self.every_n.data, daily_at=self.daily_at.data,
            timezone=self.timezone.data or "", final_local=self.final_local.data,
        )
