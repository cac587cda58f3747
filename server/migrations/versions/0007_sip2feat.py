"""sip2feat: item properties (SIP2 19 "item status update", CH) and a field delimiter per SIP2 account

Revision ID: 0007_sip2feat
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sip2feat"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("properties", sa.String(length=255), nullable=True))
    with op.batch_alter_table("sip2_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("field_delimiter", sa.String(length=1), nullable=False, server_default="|"))
    with op.batch_alter_table("sip2_accounts", schema=None) as batch_op:
        batch_op.alter_column("field_delimiter", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("sip2_accounts", schema=None) as batch_op:
        batch_op.drop_column("field_delimiter")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("properties")
