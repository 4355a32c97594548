"""One router per resource: sign-in and preferences, review, notices, contacts,
dashboard, administration."""
