"""Reminders, change and cancellation notices and after-event mails: sent by sweepers, exactly once."""
