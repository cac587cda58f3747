"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:35:17.019746
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import server.db

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_transactions",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_client_transactions")),
    )
    with op.batch_alter_table("client_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_transactions_created_at"), ["created_at"], unique=False)

    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("applied", "quarantined", name="eventstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_device_events_event_id")),
    )
    with op.batch_alter_table("device_events", schema=None) as batch_op:
        batch_op.create_index("ix_device_events_device_time", ["device_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_events_kind"), ["kind"], unique=False)

    op.create_table(
        "item_types",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("circulates", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_item_types")),
    )
    op.create_table(
        "libraries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("isil", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("province", "district", "commune", "branch", name="librarykind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["libraries.id"], name=op.f("fk_libraries_parent_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_libraries")),
        sa.UniqueConstraint("isil", name=op.f("uq_libraries_isil")),
    )
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_libraries_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "patron_categories",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_patron_categories")),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "telemetry_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("sampled_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_samples")),
    )
    with op.batch_alter_table("telemetry_samples", schema=None) as batch_op:
        batch_op.create_index("ix_telemetry_device_time", ["device_id", "sampled_at"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=32), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_audit_log_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_library_id"), ["library_id"], unique=False)
        batch_op.create_index("ix_audit_log_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "bib_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("control_number", sa.String(length=64), nullable=True),
        sa.Column("marc", sa.LargeBinary(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.Text(), nullable=False),
        sa.Column("subjects", sa.Text(), nullable=False),
        sa.Column("publisher", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=3), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("sort_key", sa.String(length=255), nullable=False),
        sa.Column("local_history", sa.Boolean(), nullable=False),
        sa.Column("digitised", sa.Boolean(), nullable=False),
        sa.Column("source_library_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_library_id"], ["libraries.id"], name=op.f("fk_bib_records_source_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bib_records")),
    )
    with op.batch_alter_table("bib_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bib_records_control_number"), ["control_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_bib_records_sort_key"), ["sort_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_bib_records_source_library_id"), ["source_library_id"], unique=False)
        batch_op.create_index("ix_bib_records_updated_id", ["updated_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bib_records_year"), ["year"], unique=False)

    op.create_table(
        "closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_closures_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closures")),
        sa.UniqueConstraint("library_id", "day", name=op.f("uq_closures_library_id_day")),
    )
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_closures_library_id"), ["library_id"], unique=False)

    op.create_table(
        "device_commands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column(
            "args",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("issued_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sent",
                "done",
                "failed",
                "expired",
                name="commandstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("completed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["staff_users.id"], name=op.f("fk_device_commands_issued_by_staff_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_commands")),
        sa.UniqueConstraint("command_id", name=op.f("uq_device_commands_command_id")),
    )
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_commands_device_id"), ["device_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("kiosk", "gate", "station", name="devicekind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("credential_hash", sa.String(length=255), nullable=True),
        sa.Column(
            "state",
            sa.Enum("online", "offline", "unknown", name="devicestate", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("last_seen_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "versions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reader_state", sa.String(length=32), nullable=True),
        sa.Column("outbox_depth", sa.Integer(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_devices_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_devices_device_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_library_id"), ["library_id"], unique=False)

    op.create_table(
        "harvest_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("base_url", sa.String(length=512), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=32), nullable=False),
        sa.Column("set_spec", sa.String(length=128), nullable=True),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("last_datestamp", sa.String(length=32), nullable=True),
        sa.Column("last_run_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_harvest_sources_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_harvest_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_harvest_sources_name")),
    )
    op.create_table(
        "library_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_library_codes_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_codes")),
        sa.UniqueConstraint("code", "valid_from", name=op.f("uq_library_codes_code_valid_from")),
    )
    with op.batch_alter_table("library_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_library_codes_code"), ["code"], unique=False)
        batch_op.create_index(batch_op.f("ix_library_codes_library_id"), ["library_id"], unique=False)

    op.create_table(
        "library_parent_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_library_parent_periods_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["libraries.id"], name=op.f("fk_library_parent_periods_parent_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_library_parent_periods")),
    )
    with op.batch_alter_table("library_parent_periods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_library_parent_periods_library_id"), ["library_id"], unique=False)

    op.create_table(
        "loan_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("patron_category", sa.String(length=32), nullable=True),
        sa.Column("item_type", sa.String(length=32), nullable=True),
        sa.Column("loan_days", sa.Integer(), nullable=False),
        sa.Column("renewals_allowed", sa.Integer(), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("fine_per_day_vnd", sa.Integer(), nullable=False),
        sa.Column("max_fine_vnd", sa.Integer(), nullable=True),
        sa.Column("hold_shelf_days", sa.Integer(), nullable=False),
        sa.Column("fee_block_threshold_vnd", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_type"], ["item_types.code"], name=op.f("fk_loan_policies_item_type_item_types")),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_loan_policies_library_id_libraries")),
        sa.ForeignKeyConstraint(
            ["patron_category"],
            ["patron_categories.code"],
            name=op.f("fk_loan_policies_patron_category_patron_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_policies")),
        sa.UniqueConstraint(
            "library_id",
            "patron_category",
            "item_type",
            name=op.f("uq_loan_policies_library_id_patron_category_item_type"),
        ),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_locations_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("library_id", "code", name=op.f("uq_locations_library_id_code")),
    )
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_locations_library_id"), ["library_id"], unique=False)

    op.create_table(
        "opening_days",
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens", sa.Time(), nullable=False),
        sa.Column("closes", sa.Time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["library_id"],
            ["libraries.id"],
            name=op.f("fk_opening_days_library_id_libraries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("library_id", "weekday", name=op.f("pk_opening_days")),
    )
    op.create_table(
        "patrons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("home_library_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("pin_failed_attempts", sa.Integer(), nullable=False),
        sa.Column("pin_locked_until", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("keep_history", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["patron_categories.code"],
            name=op.f("fk_patrons_category_code_patron_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["home_library_id"], ["libraries.id"], name=op.f("fk_patrons_home_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrons")),
    )
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrons_home_library_id"), ["home_library_id"], unique=False)

    op.create_table(
        "sip2_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("institution_id", sa.String(length=64), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("terminal_location", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("terminator", sa.String(length=4), nullable=False),
        sa.Column("error_detection", sa.Boolean(), nullable=False),
        sa.Column(
            "allowed_operations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fees_block_checkout", sa.Boolean(), nullable=False),
        sa.Column("accept_offline", sa.Boolean(), nullable=False),
        sa.Column("hold_alerts", sa.Boolean(), nullable=False),
        sa.Column(
            "sort_bins",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_sip2_accounts_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip2_accounts")),
        sa.UniqueConstraint("login", name=op.f("uq_sip2_accounts_login")),
    )
    op.create_table(
        "staff_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "system_admin",
                "library_admin",
                "librarian",
                "read_only",
                name="role",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_staff_roles_library_id_libraries")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_roles_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_roles")),
        sa.UniqueConstraint("user_id", "library_id", "role", name=op.f("uq_staff_roles_user_id_library_id_role")),
    )
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_roles_user_id"), ["user_id"], unique=False)

    op.create_table(
        "visitor_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("period_start", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count_in", sa.Integer(), nullable=False),
        sa.Column("count_out", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_visitor_counts_library_id_libraries")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_counts")),
        sa.UniqueConstraint("device_id", "period_start", name=op.f("uq_visitor_counts_device_id_period_start")),
    )
    with op.batch_alter_table("visitor_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visitor_counts_library_id"), ["library_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visitor_counts_period_start"), ["period_start"], unique=False)

    op.create_table(
        "bib_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["bib_records.id"],
            name=op.f("fk_bib_identifiers_record_id_bib_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bib_identifiers")),
    )
    with op.batch_alter_table("bib_identifiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bib_identifiers_record_id"), ["record_id"], unique=False)
        batch_op.create_index("ix_bib_identifiers_scheme_value", ["scheme", "value"], unique=False)

    op.create_table(
        "holdings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("call_number", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_holdings_library_id_libraries")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_holdings_location_id_locations")),
        sa.ForeignKeyConstraint(["record_id"], ["bib_records.id"], name=op.f("fk_holdings_record_id_bib_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holdings")),
        sa.UniqueConstraint(
            "record_id",
            "library_id",
            "call_number",
            name=op.f("uq_holdings_record_id_library_id_call_number"),
        ),
    )
    with op.batch_alter_table("holdings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holdings_library_id"), ["library_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_holdings_record_id"), ["record_id"], unique=False)

    op.create_table(
        "patron_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("lifted_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff_users.id"], name=op.f("fk_patron_blocks_created_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_patron_blocks_patron_id_patrons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patron_blocks")),
    )
    with op.batch_alter_table("patron_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patron_blocks_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "patron_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("barcode", "rfid_uid", "citizen_id", name="cardkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("issued_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_patron_cards_patron_id_patrons"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patron_cards")),
        sa.UniqueConstraint("number", name=op.f("uq_patron_cards_number")),
    )
    with op.batch_alter_table("patron_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patron_cards_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "source_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=255), nullable=False),
        sa.Column("datestamp", sa.String(length=32), nullable=True),
        sa.Column("marc", sa.LargeBinary(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("harvested_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["bib_records.id"], name=op.f("fk_source_records_record_id_bib_records")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["harvest_sources.id"], name=op.f("fk_source_records_source_id_harvest_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_records")),
        sa.UniqueConstraint("source_id", "identifier", name=op.f("uq_source_records_source_id_identifier")),
    )
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_records_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_records_source_id"), ["source_id"], unique=False)

    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("barcode", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("holding_id", sa.Integer(), nullable=True),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("item_type", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "available",
                "on_loan",
                "on_hold_shelf",
                "in_transit",
                "lost",
                "claims_returned",
                "missing",
                "in_processing",
                "withdrawn",
                name="itemstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("owner_isil", sa.String(length=32), nullable=True),
        sa.Column("set_parts_total", sa.Integer(), nullable=False),
        sa.Column(
            "security_state",
            sa.Enum("secured", "unsecured", "unknown", name="securitystate", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("security_written_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.Column("price_vnd", sa.Integer(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["holding_id"], ["holdings.id"], name=op.f("fk_items_holding_id_holdings")),
        sa.ForeignKeyConstraint(["item_type"], ["item_types.code"], name=op.f("fk_items_item_type_item_types")),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_items_library_id_libraries")),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"], name=op.f("fk_items_location_id_locations")),
        sa.ForeignKeyConstraint(["record_id"], ["bib_records.id"], name=op.f("fk_items_record_id_bib_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint("barcode", name=op.f("uq_items_barcode")),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_items_holding_id"), ["holding_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_library_id"), ["library_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_items_status"), ["status"], unique=False)

    op.create_table(
        "record_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_record_id", sa.Integer(), nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("match_key", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("undone_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["kept_record_id"], ["bib_records.id"], name=op.f("fk_record_merges_kept_record_id_bib_records")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["staff_users.id"], name=op.f("fk_record_merges_reviewed_by_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_records.id"],
            name=op.f("fk_record_merges_source_record_id_source_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_merges")),
    )
    with op.batch_alter_table("record_merges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_record_merges_kept_record_id"), ["kept_record_id"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("pickup_library_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "waiting",
                "in_transit",
                "ready",
                "fulfilled",
                "cancelled",
                "expired",
                name="holdstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("placed_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trapped_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_holds_item_id_items")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_holds_patron_id_patrons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["pickup_library_id"], ["libraries.id"], name=op.f("fk_holds_pickup_library_id_libraries")
        ),
        sa.ForeignKeyConstraint(["record_id"], ["bib_records.id"], name=op.f("fk_holds_record_id_bib_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holds_patron_id"), ["patron_id"], unique=False)
        batch_op.create_index("ix_holds_record_state", ["record_id", "state"], unique=False)

    op.create_table(
        "item_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=16), nullable=False),
        sa.Column("part_number", sa.Integer(), nullable=False),
        sa.Column("tag_format", sa.String(length=16), nullable=False),
        sa.Column("programmed_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_item_tags_item_id_items"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_tags")),
        sa.UniqueConstraint("item_id", "part_number", name=op.f("uq_item_tags_item_id_part_number")),
        sa.UniqueConstraint("uid", name=op.f("uq_item_tags_uid")),
    )
    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_tags_item_id"), ["item_id"], unique=False)

    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("patron_category", sa.String(length=32), nullable=False),
        sa.Column("patron_home_library_id", sa.Integer(), nullable=True),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "active",
                "returned",
                "lost",
                "claims_returned",
                name="loanstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("checked_out_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("returned_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("returned_library_id", sa.Integer(), nullable=True),
        sa.Column("renewals", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("terminal", sa.String(length=64), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("review_reason", sa.Text(), nullable=True),
        sa.Column("anonymised_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_loans_item_id_items")),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_loans_library_id_libraries")),
        sa.ForeignKeyConstraint(
            ["patron_home_library_id"],
            ["libraries.id"],
            name=op.f("fk_loans_patron_home_library_id_libraries"),
        ),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_loans_patron_id_patrons"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["returned_library_id"], ["libraries.id"], name=op.f("fk_loans_returned_library_id_libraries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_checked_out", ["checked_out_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_library_id"), ["library_id"], unique=False)
        batch_op.create_index("ix_loans_patron_open", ["patron_id", "returned_at"], unique=False)
        batch_op.create_index(
            "uq_loans_open_item",
            ["item_id"],
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )

    op.create_table(
        "fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("overdue", "lost", "damage", "card", "other", name="feekind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("paid_vnd", sa.Integer(), nullable=False),
        sa.Column("waived", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_fees_library_id_libraries")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_fees_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_fees_patron_id_patrons"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fees")),
    )
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fees_patron_id"), ["patron_id"], unique=False)

    op.create_table(
        "gate_alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("antenna", sa.Integer(), nullable=True),
        sa.Column("tag_uid", sa.String(length=16), nullable=True),
        sa.Column("item_barcode", sa.String(length=64), nullable=True),
        sa.Column("owner_isil", sa.String(length=32), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column(
            "classification",
            sa.Enum(
                "theft_attempt",
                "security_write_failed",
                "unknown_tag",
                name="alarmclass",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("acknowledged_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["staff_users.id"], name=op.f("fk_gate_alarms_acknowledged_by_staff_users")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_gate_alarms_item_id_items")),
        sa.ForeignKeyConstraint(["library_id"], ["libraries.id"], name=op.f("fk_gate_alarms_library_id_libraries")),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_gate_alarms_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_alarms")),
        sa.UniqueConstraint("event_id", name=op.f("uq_gate_alarms_event_id")),
    )
    with op.batch_alter_table("gate_alarms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gate_alarms_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_alarms_library_id"), ["library_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_gate_alarms_occurred_at"), ["occurred_at"], unique=False)

    op.create_table(
        "renewals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("renewed_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous_due_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("new_due_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_renewals_loan_id_loans"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewals")),
    )
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renewals_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patron_id", sa.Integer(), nullable=True),
        sa.Column("fee_id", sa.Integer(), nullable=True),
        sa.Column("amount_vnd", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("paid_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["fee_id"], ["fees.id"], name=op.f("fk_payments_fee_id_fees")),
        sa.ForeignKeyConstraint(
            ["patron_id"], ["patrons.id"], name=op.f("fk_payments_patron_id_patrons"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_patron_id"), ["patron_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_patron_id"))

    op.drop_table("payments")
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewals_loan_id"))

    op.drop_table("renewals")
    with op.batch_alter_table("gate_alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gate_alarms_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_gate_alarms_library_id"))
        batch_op.drop_index(batch_op.f("ix_gate_alarms_device_id"))

    op.drop_table("gate_alarms")
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fees_patron_id"))

    op.drop_table("fees")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_open_item",
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        )
        batch_op.drop_index("ix_loans_patron_open")
        batch_op.drop_index(batch_op.f("ix_loans_library_id"))
        batch_op.drop_index(batch_op.f("ix_loans_item_id"))
        batch_op.drop_index("ix_loans_checked_out")

    op.drop_table("loans")
    with op.batch_alter_table("item_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_tags_item_id"))

    op.drop_table("item_tags")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_record_state")
        batch_op.drop_index(batch_op.f("ix_holds_patron_id"))

    op.drop_table("holds")
    with op.batch_alter_table("record_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_merges_kept_record_id"))

    op.drop_table("record_merges")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_items_status"))
        batch_op.drop_index(batch_op.f("ix_items_record_id"))
        batch_op.drop_index(batch_op.f("ix_items_library_id"))
        batch_op.drop_index(batch_op.f("ix_items_holding_id"))

    op.drop_table("items")
    with op.batch_alter_table("source_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_records_source_id"))
        batch_op.drop_index(batch_op.f("ix_source_records_record_id"))

    op.drop_table("source_records")
    with op.batch_alter_table("patron_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patron_cards_patron_id"))

    op.drop_table("patron_cards")
    with op.batch_alter_table("patron_blocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patron_blocks_patron_id"))

    op.drop_table("patron_blocks")
    with op.batch_alter_table("holdings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_holdings_record_id"))
        batch_op.drop_index(batch_op.f("ix_holdings_library_id"))

    op.drop_table("holdings")
    with op.batch_alter_table("bib_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_bib_identifiers_scheme_value")
        batch_op.drop_index(batch_op.f("ix_bib_identifiers_record_id"))

    op.drop_table("bib_identifiers")
    with op.batch_alter_table("visitor_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitor_counts_period_start"))
        batch_op.drop_index(batch_op.f("ix_visitor_counts_library_id"))

    op.drop_table("visitor_counts")
    with op.batch_alter_table("staff_roles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_roles_user_id"))

    op.drop_table("staff_roles")
    op.drop_table("sip2_accounts")
    with op.batch_alter_table("patrons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patrons_home_library_id"))

    op.drop_table("patrons")
    op.drop_table("opening_days")
    with op.batch_alter_table("locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_locations_library_id"))

    op.drop_table("locations")
    op.drop_table("loan_policies")
    with op.batch_alter_table("library_parent_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_library_parent_periods_library_id"))

    op.drop_table("library_parent_periods")
    with op.batch_alter_table("library_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_library_codes_library_id"))
        batch_op.drop_index(batch_op.f("ix_library_codes_code"))

    op.drop_table("library_codes")
    op.drop_table("harvest_sources")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_library_id"))

    op.drop_table("devices")
    with op.batch_alter_table("device_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_commands_device_id"))

    op.drop_table("device_commands")
    with op.batch_alter_table("closures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_closures_library_id"))

    op.drop_table("closures")
    with op.batch_alter_table("bib_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bib_records_year"))
        batch_op.drop_index("ix_bib_records_updated_id")
        batch_op.drop_index(batch_op.f("ix_bib_records_source_library_id"))
        batch_op.drop_index(batch_op.f("ix_bib_records_sort_key"))
        batch_op.drop_index(batch_op.f("ix_bib_records_control_number"))

    op.drop_table("bib_records")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_target")
        batch_op.drop_index(batch_op.f("ix_audit_log_library_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    with op.batch_alter_table("telemetry_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_telemetry_device_time")

    op.drop_table("telemetry_samples")
    op.drop_table("staff_users")
    op.drop_table("patron_categories")
    with op.batch_alter_table("libraries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_libraries_parent_id"))

    op.drop_table("libraries")
    op.drop_table("item_types")
    with op.batch_alter_table("device_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_events_kind"))
        batch_op.drop_index("ix_device_events_device_time")

    op.drop_table("device_events")
    with op.batch_alter_table("client_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_transactions_created_at"))

    op.drop_table("client_transactions")
