"""Earned execution rights: the autonomy level of each workflow.

Creates ``autonomy_levels`` (one row per workflow whose level was ever set:
the current level, who set it, when and why, and the evidence it was set on),
as ``governed_agents/ledger/schema.py`` has it at this revision (written out,
not imported; a test compares the migrated database with the live metadata).
Every change is also an audit event (``autonomy.promoted`` / ``autonomy.demoted``);
this table is the current state the gate reads with one primary-key lookup.

Revision ID: 0003_autonomy
Revises: 0002_routing
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_autonomy"
down_revision = "0002_routing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autonomy_levels",
        sa.Column("workflow", sa.String(128), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("changed_by", sa.String(128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("envelope_digest", sa.String(80), nullable=True),
        sa.Column("since_seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("autonomy_levels")
