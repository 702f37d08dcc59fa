"""Calendar feeds (iCalendar): public, per organization, filtered, per event, organizers' and supporters' own."""
