"""Questionnaires, responses and the SIPAS index."""
