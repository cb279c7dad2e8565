"""signup: users.email_confirmed_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 09:00:00

- `users.email_confirmed_at`: when the user followed the confirmation link mailed at self-service sign-up.
  Every existing user was made by staff and counts as confirmed: backfilled to its `created_at`.
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.get_bind().execute(sa.text("UPDATE users SET email_confirmed_at = created_at"))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
