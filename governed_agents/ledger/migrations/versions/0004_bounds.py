"""Autonomous write bounds: the writes counted against an envelope's autonomous_writes limits.

Creates ``bounded_writes`` as ``governed_agents/ledger/schema.py`` has it at this
revision (written out, not imported; a test compares the migrated database with
the live metadata). See ``governed_agents/bounds.py``.

Revision ID: 0004_bounds
Revises: 0003_autonomy
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_bounds"
down_revision = "0003_autonomy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounded_writes",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("scope_key", sa.String(400), nullable=False),
        sa.Column("workflow", sa.String(128), nullable=False),
        sa.Column("tool", sa.String(128), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bounded_writes_scope", "bounded_writes", ["scope_key"])
    op.create_index("ix_bounded_writes_key", "bounded_writes", ["idempotency_key"])


def downgrade() -> None:
    op.drop_index("ix_bounded_writes_key", table_name="bounded_writes")
    op.drop_index("ix_bounded_writes_scope", table_name="bounded_writes")
    op.drop_table("bounded_writes")
