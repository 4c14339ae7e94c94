"""The JSON API (v1), documented in /api/v1/openapi.json."""
