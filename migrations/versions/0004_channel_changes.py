"""channel changes: who connected, reconnected or removed a channel and when

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 16:00:00

- `channel_changes`: one row per connect, reconnect and removal of a channel (self-service pages, /admin,
  the CLI), kept with the channel (a removed channel's row stays, so its conversations keep their channel).
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'channel_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('detail', sa.String(length=255), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('channel_changes', schema=None) as batch_op:
        batch_op.create_index('ix_channel_changes_tenant_id', ['tenant_id'], unique=False)
        batch_op.create_index('ix_channel_changes_channel_id', ['channel_id'], unique=False)
    op.create_index('ix_message_channel_id', 'messages', ['channel_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_message_channel_id', table_name='messages')
    op.drop_table('channel_changes')
