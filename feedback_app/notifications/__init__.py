"""Staff's in-app notifications (written by services with feedback_app.outbox.notify_user)."""
