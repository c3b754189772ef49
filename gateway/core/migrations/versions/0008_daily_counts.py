"""daily counts for the statistics page, filled from the cases already stored

The statistics page read every case of its window and their events (it grew
with the cases of its weeks, bench/growth.py); it now reads per-day counts
(gateway/cases/daily_counts.py, which describes the rows). The days a change
makes stale are marked in `daily_counts_stale` and counted again by the
sweeper. Here every day that has cases is counted, a month at a time, the
way gateway.cases.daily_counts.count_days counts (repeated here so that this
migration keeps meaning what it meant when the code changes).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:50:00
"""

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

ALL = '*'
RESPONSE_KINDS = ('status_changed', 'message_to_reporter')
CHUNK = timedelta(days=31)

cases = sa.table(
    'cases',
    sa.column('id', sa.Integer()),
    sa.column('received_at', sa.DateTime(timezone=True)),
    sa.column('channel', sa.String()),
    sa.column('category', sa.String()),
    sa.column('language', sa.String()),
)
events = sa.table(
    'case_events',
    sa.column('case_id', sa.Integer()),
    sa.column('kind', sa.String()),
    sa.column('actor', sa.String()),
    sa.column('created_at', sa.DateTime(timezone=True)),
)
users = sa.table('users', sa.column('username', sa.String()))


def upgrade() -> None:
    daily = op.create_table('daily_counts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('responded', sa.Integer(), nullable=False),
    sa.Column('response_us', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel', 'category', 'language', name=op.f('pk_daily_counts'))
    )
    op.create_table('daily_counts_stale',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_counts_stale'))
    )
    with op.batch_alter_table('daily_counts_stale', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_daily_counts_stale_day'), ['day'], unique=False)
    _fill(op.get_bind(), daily)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _fill(conn: sa.Connection, daily: sa.Table) -> None:
    first, last = conn.execute(sa.select(sa.func.min(cases.c.received_at), sa.func.max(cases.c.received_at))).one()
    if first is None:
        return
    start = datetime.combine(_utc(first).date(), time(), UTC)
    while start <= _utc(last):
        end = start + CHUNK
        rows = _count(conn, start, end)
        if rows:
            conn.execute(sa.insert(daily), rows)
        start = end


def _count(conn: sa.Connection, start: datetime, end: datetime) -> list[dict]:
    received = (cases.c.received_at >= start, cases.c.received_at < end)
    first_response = dict(conn.execute(
        sa.select(events.c.case_id, sa.func.min(events.c.created_at))
        .join(cases, cases.c.id == events.c.case_id)
        .where(*received, events.c.kind.in_(RESPONSE_KINDS), events.c.actor.in_(sa.select(users.c.username)))
        .group_by(events.c.case_id)
    ).all())
    reports = defaultdict(int)
    durations = defaultdict(list)
    query = sa.select(cases.c.id, cases.c.received_at, cases.c.channel, cases.c.category, cases.c.language)
    for case_id, received_at, channel, category, language in conn.execute(query.where(*received)):
        received_at = _utc(received_at)
        answered = first_response.get(case_id)
        day, category = received_at.date(), category or 'none'
        for key in (
            (day, channel, category, language),
            (day, channel, ALL, ALL),
            (day, ALL, category, ALL),
            (day, ALL, ALL, language),
            (day, ALL, ALL, ALL),
        ):
            reports[key] += 1
            if answered is not None:
                durations[key].append((_utc(answered) - received_at) // timedelta(microseconds=1))
    return [
        {
            'day': key[0],
            'channel': key[1],
            'category': key[2],
            'language': key[3],
            'reports': count,
            'responded': len(durations[key]),
            'response_us': ' '.join(str(us) for us in sorted(durations[key])),
        }
        for key, count in sorted(reports.items())
    ]


def downgrade() -> None:
    with op.batch_alter_table('daily_counts_stale', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_daily_counts_stale_day'))

    op.drop_table('daily_counts_stale')
    op.drop_table('daily_counts')
