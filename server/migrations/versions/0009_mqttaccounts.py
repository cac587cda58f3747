"""mqttaccounts: library-scoped MQTT accounts (monitoring stations, branch bridges)

Revision ID: 0009_mqttaccounts
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0009_mqttaccounts"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mqtt_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column(
            "access", sa.Enum("read", "bridge", name="accountaccess", native_enum=False, length=24), nullable=False
        ),
        sa.Column("credential_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_mqtt_accounts_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mqtt_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_mqtt_accounts_username")),
    )
    with op.batch_alter_table("mqtt_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mqtt_accounts_library_id"), ["library_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mqtt_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mqtt_accounts_library_id"))
    op.drop_table("mqtt_accounts")
