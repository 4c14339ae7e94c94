"""The one-time survey link of an invitation: PUBLIC_BASE_URL/s/<token>."""
