"""RSVPs: supporters' attendances at events, capacity, waitlists and attendee management."""
