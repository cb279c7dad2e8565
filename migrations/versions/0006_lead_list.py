"""lead list: the keyset index of the leads list and its export

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:00:00

- `leads`: `ix_lead_tenant_created_id (tenant_id, created_at, id)`, the order of the leads list (newest
  first, the id breaking ties) so a page and each export batch read only the rows they return
  (webapp/services/lead_list.py). `ix_lead_tenant_created` stays.
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_lead_tenant_created_id', 'leads', ['tenant_id', 'created_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_lead_tenant_created_id', table_name='leads')
