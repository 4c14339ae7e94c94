"""PAKN: the answer as published, apart from the answer sent to the sender

Revision ID: 0013_published_answer
Revises: 0012_outbox
Create Date: 2026-12-03 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_published_answer'
down_revision = '0012_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_answer', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('published_answer')
