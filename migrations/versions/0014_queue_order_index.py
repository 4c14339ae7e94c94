"""PAKN queue: an index on its order (the current step's deadline, then the newest)

Revision ID: 0014_queue_order_index
Revises: 0013_published_answer
Create Date: 2026-12-03 19:00:00

The expression is that of models.complaint.current_due_expression(), written out: the queue's ORDER BY must match
it exactly for the planner to use the index (tests/test_complaints.py checks the plan on PostgreSQL).
"""
from alembic import op


revision = '0014_queue_order_index'
down_revision = '0013_published_answer'
branch_labels = None
depends_on = None

DUE = ("CASE WHEN (state = 'received' OR state = 'classified' AND outcome IN ('not_accepted', 'forwarded', "
       "'referred')) THEN classify_due_at WHEN (state IN ('classified', 'assigned', 'drafted', 'approved')) "
       "THEN answer_due_at ELSE NULL END")


def upgrade():
    op.execute(f"CREATE INDEX ix_complaints_due_order ON complaints "
               f"(({DUE} IS NULL), ({DUE}), received_at DESC, id DESC)")


def downgrade():
    op.execute("DROP INDEX ix_complaints_due_order")
