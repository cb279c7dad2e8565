"""crm, team and audit: lead timelines and custom fields, people above contacts, invitations, the audit log,
and the keyset indexes of the lists that had none

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 18:30:00

- `lead_events`: a lead's timeline (status changes, notes, custom field changes), newest by (lead_id, id).
- `leads.custom`: the tenant's own lead fields (plan feature `custom_fields`, added to BUSINESS and PRO).
- `people` and `contacts.person_id`: one person across channels; `person_links`: why a contact joined a
  person (automatic or offered), so a merge can be undone.
- `invitations`: one-time links to join a tenant as owner or operator (only the token's hash is stored).
- `audit_entries`: staff actions in /admin and tenant security events.
- Keyset indexes (tenant_id, id) for notifications, inbound events and contacts, whose lists page newest
  first by id.
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _json():
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), 'postgresql')


def upgrade():
    op.create_table(
        'lead_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('author', sa.String(length=255), nullable=False),
        sa.Column('data', _json(), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_lead_event_lead_id', 'lead_events', ['lead_id', 'id'])
    op.create_index('ix_lead_events_tenant_id', 'lead_events', ['tenant_id'])
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('custom', _json(), nullable=False, server_default='{}'))

    op.create_table(
        'people',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_people_tenant_id', 'people', ['tenant_id'])
    op.create_index('ix_person_tenant_id', 'people', ['tenant_id', 'id'])
    op.create_index('ix_person_tenant_phone', 'people', ['tenant_id', 'phone'])
    op.create_index('ix_person_tenant_email', 'people', ['tenant_id', 'email'])
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_contacts_person_id', 'people', ['person_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_contact_person', 'contacts', ['person_id'])
    op.create_index('ix_contact_tenant_id', 'contacts', ['tenant_id', 'id'])
    op.create_table(
        'person_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('from_person_id', sa.Integer(), nullable=True),
        sa.Column('rule', sa.String(length=24), nullable=False),
        sa.Column('value', sa.String(length=254), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('decided_at', TZ, nullable=True),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_person_links_tenant_id', 'person_links', ['tenant_id'])
    op.create_index('ix_person_link_tenant_status', 'person_links', ['tenant_id', 'status', 'id'])
    op.create_index('ix_person_link_contact', 'person_links', ['contact_id', 'id'])
    op.create_index('ix_person_link_person', 'person_links', ['person_id', 'id'])

    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invited_by', sa.String(length=254), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.Column('expires_at', TZ, nullable=False),
        sa.Column('accepted_at', TZ, nullable=True),
        sa.Column('revoked_at', TZ, nullable=True),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'))
    op.create_index('ix_invitation_tenant_id', 'invitations', ['tenant_id', 'id'])
    op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('staff', sa.Boolean(), nullable=False),
        sa.Column('action', sa.String(length=48), nullable=False),
        sa.Column('target', sa.String(length=255), nullable=False),
        sa.Column('details', _json(), nullable=False),
        sa.Column('ip', sa.String(length=45), nullable=False),
        sa.Column('created_at', TZ, nullable=False),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_audit_tenant_id', 'audit_entries', ['tenant_id', 'id'])

    op.create_index('ix_notification_tenant_id', 'notifications', ['tenant_id', 'id'])
    op.create_index('ix_inbound_tenant_id', 'inbound_events', ['tenant_id', 'id'])

    plans = sa.table('plans', sa.column('id', sa.Integer()), sa.column('code', sa.String()),
                     sa.column('features', sa.JSON()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(plans.c.id, plans.c.features)
                            .where(plans.c.code.in_(['BUSINESS', 'PRO']))).all():
        features = row.features if isinstance(row.features, list) else json.loads(row.features or '[]')
        if 'custom_fields' not in features:
            bind.execute(plans.update().where(plans.c.id == row.id)
                         .values(features=features + ['custom_fields']))


def downgrade():
    plans = sa.table('plans', sa.column('id', sa.Integer()), sa.column('features', sa.JSON()))
    bind = op.get_bind()
    for row in bind.execute(sa.select(plans.c.id, plans.c.features)).all():
        features = row.features if isinstance(row.features, list) else json.loads(row.features or '[]')
        if 'custom_fields' in features:
            bind.execute(plans.update().where(plans.c.id == row.id)
                         .values(features=[f for f in features if f != 'custom_fields']))
    op.drop_index('ix_inbound_tenant_id', table_name='inbound_events')
    op.drop_index('ix_notification_tenant_id', table_name='notifications')
    op.drop_index('ix_audit_tenant_id', table_name='audit_entries')
    op.drop_table('audit_entries')
    op.drop_index('ix_invitation_tenant_id', table_name='invitations')
    op.drop_table('invitations')
    for name in ('ix_person_link_person', 'ix_person_link_contact', 'ix_person_link_tenant_status',
                 'ix_person_links_tenant_id'):
        op.drop_index(name, table_name='person_links')
    op.drop_table('person_links')
    op.drop_index('ix_contact_tenant_id', table_name='contacts')
    op.drop_index('ix_contact_person', table_name='contacts')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint('fk_contacts_person_id', type_='foreignkey')
        batch_op.drop_column('person_id')
    for name in ('ix_person_tenant_email', 'ix_person_tenant_phone', 'ix_person_tenant_id', 'ix_people_tenant_id'):
        op.drop_index(name, table_name='people')
    op.drop_table('people')
    with op.batch_alter_table('leads', schema=None) as batch_op:
        batch_op.drop_column('custom')
    op.drop_index('ix_lead_events_tenant_id', table_name='lead_events')
    op.drop_index('ix_lead_event_lead_id', table_name='lead_events')
    op.drop_table('lead_events')
