"""uploaded files wait, encrypted, for the worker that strips their metadata

A file posted with the web form (or given to `file_report` by any caller) is
no longer decoded in the web request: the request checks its type, size and
header dimensions and stores the original encrypted in a media download,
which the worker cleans (images re-encoded, PDF and MP4 metadata removed,
audio tags removed) into an attachment and then empties.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 18:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('media_downloads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data_enc', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('media_downloads', schema=None) as batch_op:
        batch_op.drop_column('data_enc')
