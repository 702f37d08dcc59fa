"""Reminders, change and cancellation notices, after-event mails and petition news: sent by sweepers, exactly once."""
