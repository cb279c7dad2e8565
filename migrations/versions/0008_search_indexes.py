"""search indexes: the leads search served by trigram indexes, and a lead's contact found by index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:40:00

- `ix_lead_contact (contact_id)`: the leads of a contact (the person page, the leads search by a contact's
  name, phone or email).
- `ix_contact_tenant_phone`, `ix_contact_tenant_email`: a phone or email typed into a form matched against the
  tenant's other contacts (the merge offers of webapp/services/people.py), once per lead captured.
- PostgreSQL only, where the extensions pg_trgm and btree_gin can be created (both are "trusted": the
  database's owner may create them; a role that may not is told in the log and the search works unindexed):
  `ix_lead_values_trgm`, a GIN index on (tenant_id, the lead's field values as text) and
  `ix_contact_search_trgm` on (tenant_id, name, phone, email), so a substring search reads only the tenant's
  matching rows (webapp/services/lead_list.py). bench/scale.py: the search for one phone number among the
  6,000 leads of the largest tenant went from a walk of every lead to a few index pages (docs/performance.md).
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')
LEAD_VALUES = "(jsonb_path_query_array(fields, '$.*')::text)"


def _extensions_ready(bind) -> bool:
    """Create pg_trgm and btree_gin if this role may; False (logged) if not."""
    for name in ('pg_trgm', 'btree_gin'):
        savepoint = bind.begin_nested()
        try:
            bind.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS {name}'))
            savepoint.commit()
        except sa.exc.DBAPIError as exc:
            savepoint.rollback()
            log.warning('extension %s not available (%s): the leads search stays unindexed', name,
                        str(exc).splitlines()[0])
            return False
    return True


def upgrade():
    op.create_index('ix_lead_contact', 'leads', ['contact_id'])
    op.create_index('ix_contact_tenant_phone', 'contacts', ['tenant_id', 'phone'])
    op.create_index('ix_contact_tenant_email', 'contacts', ['tenant_id', 'email'])
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql' or not _extensions_ready(bind):
        return
    op.execute(f'CREATE INDEX ix_lead_values_trgm ON leads USING gin (tenant_id, {LEAD_VALUES} gin_trgm_ops)')
    op.execute('CREATE INDEX ix_contact_search_trgm ON contacts USING gin '
               '(tenant_id, name gin_trgm_ops, phone gin_trgm_ops, email gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_contact_search_trgm')
        op.execute('DROP INDEX IF EXISTS ix_lead_values_trgm')
    op.drop_index('ix_contact_tenant_email', table_name='contacts')
    op.drop_index('ix_contact_tenant_phone', table_name='contacts')
    op.drop_index('ix_lead_contact', table_name='leads')
