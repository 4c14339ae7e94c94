"""Satisfaction results for staff."""
