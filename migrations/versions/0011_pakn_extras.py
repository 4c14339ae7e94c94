"""PAKN: heads of units, API keys, the satisfaction answer after a PAKN (response channel 'pakn')

Revision ID: 0011_pakn_extras
Revises: 0010_complaints
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_pakn_extras'
down_revision = '0010_complaints'
branch_labels = None
depends_on = None

CHANNELS_BEFORE = "channel IN ('kiosk','qr','web','sms','paper')"
CHANNELS_NOW = "channel IN ('kiosk','qr','web','sms','paper','pakn')"


def upgrade():
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['org_units.id'], name=op.f('fk_api_keys_agency_id_org_units')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_keys_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_head', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction_response_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_complaints_satisfaction_response_id_responses'), 'responses',
                                    ['satisfaction_response_id'], ['id'])
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_responses_channel_known'), type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS_NOW)


def downgrade():
    op.execute("DELETE FROM answers WHERE response_id IN (SELECT id FROM responses WHERE channel = 'pakn')")
    op.execute("UPDATE complaints SET satisfaction_response_id = NULL")
    op.execute("DELETE FROM responses WHERE channel = 'pakn'")
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_responses_channel_known'), type_='check')
        batch_op.create_check_constraint('channel_known', CHANNELS_BEFORE)
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_complaints_satisfaction_response_id_responses'), type_='foreignkey')
        batch_op.drop_column('satisfaction_response_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('is_head')
    op.drop_table('api_keys')
