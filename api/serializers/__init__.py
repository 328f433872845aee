"""Input and output shapes of the API, by domain. No booking rules here: those are in
api/services/."""
