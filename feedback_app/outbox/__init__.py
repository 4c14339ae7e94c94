"""The outbox: messages written in the transaction of the change that causes them, sent by `flask worker`.

    from feedback_app.outbox import enqueue_email, enqueue_sms, notify_user, register_periodic

enqueue.py writes (flush, never commit); worker.py claims and sends; senders.py holds the gateways;
periodic.py the jobs the worker runs every N seconds; runner.py the loop (`flask worker`, `make run`'s thread).
"""

from .enqueue import enqueue_email, enqueue_sms, notify_user
from .periodic import register_periodic

__all__ = ["enqueue_email", "enqueue_sms", "notify_user", "register_periodic"]
