"""Datasets: no stored documents

Answers are dumped from the datasets' columns and kept by each worker instead of being stored
as JSON text beside them.

Downgrading adds the column back empty: the code of datasets_0002 writes a dataset's document
when the dataset changes, so touch every dataset (or import the catalogue again) before
serving that code on a downgraded database.

Revision ID: datasets_0003
Revises: datasets_0002
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op


revision = 'datasets_0003'
down_revision = 'datasets_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("document")


def downgrade():
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("document", sa.Text(), nullable=True))
