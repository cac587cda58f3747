"""index loans by return time (returns per day and month in reports and the dashboard)

Revision ID: 0005_loans_returned
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_loans_returned"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_loans_returned_at", "loans", ["returned_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_loans_returned_at", table_name="loans")
