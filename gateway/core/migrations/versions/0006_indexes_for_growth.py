"""indexes that keep the queue, statistics and sweeper flat as cases pile up

Measured by bench/growth.py from 1,000 to 100,000 stored cases: the queue's
default order sorted every open case, its language list read every case,
the sweeper's look for silent conversations could scan them all, and the
statistics page read every case event.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 16:15:00
"""

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = (
    ('cases', 'ix_cases_triage', ['danger_now', 'child_involved', 'received_at', 'id']),
    ('cases', 'ix_cases_counts', ['status', 'danger_now', 'child_involved', 'assignee_id']),
    ('cases', 'ix_cases_language', ['language']),
    ('conversations', 'ix_conversations_due', ['state', 'last_activity_at']),
    ('case_events', 'ix_case_events_response', ['kind', 'created_at']),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
