"""login throttles per e-mail and address replace the account lock

Revision ID: 0006_login_throttles
Revises: 0005_staff_sessions
Create Date: 2026-11-30 11:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_login_throttles'
down_revision = '0005_staff_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_allowed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_login_throttles_key_hash'))
    )
    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttles_last_failure_at'), ['last_failure_at'], unique=False)

    # The account lock let anyone lock anyone out with five wrong passwords: gone, with its counters.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('login_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttles_last_failure_at'))

    op.drop_table('login_throttles')
