"""PAKN (phản ánh, kiến nghị): intake from every channel, the Văn phòng Sở queue, deadlines and reminders.

Every state change follows one pattern: the transition is a method on `models.Complaint` that refuses an
illegal move; one service function in `actions.py` per action checks the user's right (`access.py`), applies
the transition, writes the history row and the audit row, queues the notifications (outbox) and commits once.
"""
