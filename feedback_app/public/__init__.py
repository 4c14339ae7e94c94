"""Public pages that are not the survey itself: home, language switch, feedback channels, health."""
