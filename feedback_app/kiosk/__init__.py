"""The kiosk: a tablet at the counter, one factor per screen, resetting itself for the next citizen."""
