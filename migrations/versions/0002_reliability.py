"""reliability: webhook deliveries stored once, worker ownership, outbound retries and in-flight index

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 09:00:00

- `webhook_deliveries`: a webhook request's raw body and headers, once per request (they were copied onto
  every event of a batch); existing events' bodies move there, one delivery per distinct body.
- `inbound_events.locked_by`, `messages.claimed_by` / `claimed_at`: the worker process holding a processing
  event / a message being sent, so a dead worker's work is recovered by its missing heartbeat.
- `inbound_events.applied_at`: the event's turn was committed (a retried event does not run it again).
- `messages.attempts`, `messages.next_attempt_at`: retryable send failures are retried later.
- Indexes for what the hot paths filter on: messages in flight (partial), a tenant's events by status,
  a tenant's notifications by kind.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
IN_FLIGHT = sa.text("delivery_status IN ('pending', 'claimed', 'sending', 'retrying')")


def upgrade():
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('raw_body', sa.Text(), nullable=False),
        sa.Column('headers', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('locked_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_inbound_events_delivery_id', 'webhook_deliveries', ['delivery_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index('ix_inbound_tenant_status_id', ['tenant_id', 'status', 'id'], unique=False)

    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    headers = "MIN(CAST(headers AS TEXT))::jsonb" if postgres else "MIN(headers)"
    bind.execute(sa.text(
        f"INSERT INTO webhook_deliveries (raw_body, headers, created_at) SELECT raw_body, {headers}, MIN(created_at) "
        "FROM inbound_events WHERE raw_body <> '' GROUP BY raw_body"))
    if postgres:  # one hash join, not a lookup per row
        bind.execute(sa.text("UPDATE inbound_events e SET delivery_id = d.id FROM webhook_deliveries d "
                             "WHERE d.raw_body = e.raw_body AND e.raw_body <> ''"))
    else:
        bind.execute(sa.text("CREATE INDEX tmp_delivery_body ON webhook_deliveries (raw_body)"))
        bind.execute(sa.text(
            "UPDATE inbound_events SET delivery_id = (SELECT d.id FROM webhook_deliveries d "
            "WHERE d.raw_body = inbound_events.raw_body) WHERE raw_body <> ''"))
        bind.execute(sa.text("DROP INDEX tmp_delivery_body"))

    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_column('raw_body')
        batch_op.drop_column('headers')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_message_in_flight', 'messages', ['delivery_status', 'next_attempt_at'], unique=False,
                    postgresql_where=IN_FLIGHT, sqlite_where=IN_FLIGHT)

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notification_tenant_kind', ['tenant_id', 'kind'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_tenant_kind')
    op.drop_index('ix_message_in_flight', table_name='messages')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raw_body', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('headers', JSON, server_default='{}', nullable=False))
    op.get_bind().execute(sa.text(
        "UPDATE inbound_events SET raw_body = COALESCE((SELECT d.raw_body FROM webhook_deliveries d "
        "WHERE d.id = inbound_events.delivery_id), ''), headers = COALESCE((SELECT d.headers FROM "
        "webhook_deliveries d WHERE d.id = inbound_events.delivery_id), headers)"))
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_tenant_status_id')
        batch_op.drop_constraint('fk_inbound_events_delivery_id', type_='foreignkey')
        batch_op.drop_column('applied_at')
        batch_op.drop_column('locked_by')
        batch_op.drop_column('delivery_id')
    op.drop_table('webhook_deliveries')
