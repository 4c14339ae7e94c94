"""Administration: organisation units, counters, services, officers, users, questionnaires, kiosks."""
