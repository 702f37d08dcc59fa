"""Announcements: organizers' scheduled emails to their opted-in supporters, with one-click unsubscribe."""
