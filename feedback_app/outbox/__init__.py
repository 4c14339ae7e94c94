"""The outbox: messages written in the transaction of the change that causes them, sent by `flask worker`.

    from feedback_app.outbox import enqueue_email, notify_user, register_periodic
"""

from .enqueue import enqueue_email, notify_user
from .periodic import register_periodic

__all__ = ["enqueue_email", "notify_user", "register_periodic"]
