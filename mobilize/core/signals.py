"""What happens in one feature that others react to, as named signals (blinker, which Flask ships).

A feature sends; the features that care connect a receiver where they are set up,
so none of them imports another to hear of it. Senders pass ids, never ORM objects.
"""

from blinker import Namespace

movement = Namespace()

# An event changed in a way its attendees must hear of (time, place, cancellation). sender: the event's id.
event_changed_significantly = movement.signal("event-changed-significantly")

# Asked for the people an organization is linked to, each receiver answers with a SELECT of person ids
# (people who RSVPed to its events, signed its petitions...). sender: a list of organization ids.
people_of_organizations = movement.signal("people-of-organizations")
