"""inbox and notifications: who owns a conversation, what is unread, and notifications that leave the app

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 16:10:00

- `conversations`: `unread_count` (customer messages an operator has not opened yet), `human_owner` (who
  took the conversation over: a member's email; NULL while the bot answers), `handed_off_at` (when a human
  was asked for or took over), `waiting_since` (a customer message no human has answered yet, while a human
  owns the conversation), `auto_reply_sent_at` (the "we'll get back to you" message, once per wait), and the
  inbox's keyset index (tenant_id, updated_at, id), with partial ones for its "needs a human" and unread views.
- `notifications`: `lead_id`, `conversation_id` (what a notification is about, linked from it) and
  `event_key` (one event → one notification: unique per tenant when set).
- `notification_deliveries`: one row per notification and destination (telegram, email, webhook) with its
  attempts, next try and last error: the delivery log.
- `tenants.notify_secrets`: encrypted per-tenant notification secrets (the outgoing webhook's signing key).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unread_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('human_owner', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('handed_off_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('auto_reply_sent_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_conversation_tenant_updated', 'conversations', ['tenant_id', 'updated_at', 'id'],
                    unique=False)
    # The inbox's "needs a human" tab and its badge, and the unread badge: partial indexes, so a tenant with
    # 25k conversations of which 40 wait for a human reads 40 rows, not 25k (measured: 60 ms → 0.07 ms).
    op.create_index('ix_conversation_needs_human', 'conversations', ['tenant_id', 'updated_at', 'id'],
                    postgresql_where=sa.text("bot_paused AND status = 'open'"),
                    sqlite_where=sa.text("bot_paused AND status = 'open'"))
    op.create_index('ix_conversation_unread', 'conversations', ['tenant_id', 'updated_at', 'id'],
                    postgresql_include=['unread_count'], postgresql_where=sa.text('unread_count > 0'),
                    sqlite_where=sa.text('unread_count > 0'))
    op.create_index('ix_conversation_waiting', 'conversations', ['waiting_since'], unique=False,
                    postgresql_where=sa.text('waiting_since IS NOT NULL'),
                    sqlite_where=sa.text('waiting_since IS NOT NULL'))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('conversation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('event_key', sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint('uq_notification_event', ['tenant_id', 'event_key'])
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_secrets', sa.Text(), nullable=True))
    op.create_table(
        'notification_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=False),
        sa.Column('destination', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('notification_id', 'destination', name='uq_notification_delivery'),
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notification_deliveries_tenant_id', ['tenant_id', 'id'], unique=False)
        batch_op.create_index('ix_notification_delivery_due', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('notification_deliveries')
    with op.batch_alter_table('tenants', schema=None) as batch_op:
        batch_op.drop_column('notify_secrets')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notification_event', type_='unique')
        batch_op.drop_column('event_key')
        batch_op.drop_column('conversation_id')
        batch_op.drop_column('lead_id')
    op.drop_index('ix_conversation_waiting', table_name='conversations')
    op.drop_index('ix_conversation_unread', table_name='conversations')
    op.drop_index('ix_conversation_needs_human', table_name='conversations')
    op.drop_index('ix_conversation_tenant_updated', table_name='conversations')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        for column in ('auto_reply_sent_at', 'waiting_since', 'handed_off_at', 'human_owner', 'unread_count'):
            batch_op.drop_column(column)
