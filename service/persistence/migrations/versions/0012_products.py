"""products: a tenant holds several; areas, roles and the default role belong to one

Every tenant that already has areas or roles gets one product, key "default", and
all its areas and roles move into it; the tenant's default role becomes that
product's default role, and the product becomes the tenant's default product (where
an area or role created without naming a product goes). No grant changes: mappings
and assignments reference roles by id, and the ids stay.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DEFAULT_KEY = "default"
DEFAULT_NAME = "Default product"
DEFAULT_DESCRIPTION = "The areas and roles this tenant had before it held several products."


def upgrade() -> None:
    op.create_table(
        "permission_products",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("group_only", sa.Boolean(), nullable=False),
        sa.Column("default_role_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_permission_products_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["default_role_id"],
            ["permission_roles.id"],
            name=op.f("fk_permission_products_default_role_id_permission_roles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permission_products")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_permission_products_tenant_id")),
    )
    for table in ("permission_areas", "permission_roles"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("product_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("permission_settings") as batch:
        batch.add_column(sa.Column("default_product_id", sa.String(length=36), nullable=True))

    _move_every_tenant_into_a_default_product()

    for table in ("permission_areas", "permission_roles"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("product_id", existing_type=sa.String(length=36), nullable=False)
            batch.create_foreign_key(
                op.f(f"fk_{table}_product_id_permission_products"),
                "permission_products",
                ["product_id"],
                ["id"],
            )
            batch.drop_constraint(op.f(f"uq_{table}_tenant_id"), type_="unique")
            batch.create_unique_constraint(
                op.f(f"uq_{table}_tenant_id"), ["tenant_id", "product_id", "key"]
            )
    with op.batch_alter_table("permission_settings") as batch:
        batch.drop_constraint(
            op.f("fk_permission_settings_default_role_id_permission_roles"), type_="foreignkey"
        )
        batch.drop_column("default_role_id")
        batch.create_foreign_key(
            op.f("fk_permission_settings_default_product_id_permission_products"),
            "permission_products",
            ["default_product_id"],
            ["id"],
            ondelete="SET NULL",
        )


def _move_every_tenant_into_a_default_product() -> None:
    bind = op.get_bind()
    areas = sa.table("permission_areas", sa.column("tenant_id"), sa.column("product_id"))
    roles = sa.table("permission_roles", sa.column("tenant_id"), sa.column("product_id"))
    settings = sa.table(
        "permission_settings",
        sa.column("tenant_id"),
        sa.column("default_role_id"),
        sa.column("default_product_id"),
    )
    products = sa.table(
        "permission_products",
        sa.column("id"),
        sa.column("tenant_id"),
        sa.column("key"),
        sa.column("name"),
        sa.column("description"),
        sa.column("group_only"),
        sa.column("default_role_id"),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    tenants = bind.execute(
        sa.union(
            sa.select(areas.c.tenant_id),
            sa.select(roles.c.tenant_id),
            sa.select(settings.c.tenant_id).where(settings.c.default_role_id.is_not(None)),
        )
    ).scalars()
    default_roles = dict(
        bind.execute(sa.select(settings.c.tenant_id, settings.c.default_role_id)).all()
    )
    now = datetime.now(UTC)
    for tenant_id in list(tenants):
        product_id = str(uuid.uuid4())
        bind.execute(
            products.insert().values(
                id=product_id,
                tenant_id=tenant_id,
                key=DEFAULT_KEY,
                name=DEFAULT_NAME,
                description=DEFAULT_DESCRIPTION,
                group_only=False,
                default_role_id=default_roles.get(tenant_id),
                created_at=now,
            )
        )
        for table in (areas, roles):
            bind.execute(
                table.update().where(table.c.tenant_id == tenant_id).values(product_id=product_id)
            )
        bind.execute(
            settings.update()
            .where(settings.c.tenant_id == tenant_id)
            .values(default_product_id=product_id)
        )


def downgrade() -> None:
    # Only a tenant with a single product can go back: keys were unique per tenant then.
    bind = op.get_bind()
    several = bind.execute(
        sa.text("SELECT tenant_id FROM permission_products GROUP BY tenant_id HAVING COUNT(*) > 1")
    ).first()
    if several is not None:
        raise RuntimeError(f"tenant {several[0]} holds several products; 0011 cannot store that")
    with op.batch_alter_table("permission_settings") as batch:
        batch.drop_constraint(
            op.f("fk_permission_settings_default_product_id_permission_products"),
            type_="foreignkey",
        )
        batch.add_column(sa.Column("default_role_id", sa.String(length=36), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE permission_settings SET default_role_id = (SELECT p.default_role_id FROM "
            "permission_products p WHERE p.id = permission_settings.default_product_id)"
        )
    )
    with op.batch_alter_table("permission_settings") as batch:
        batch.drop_column("default_product_id")
        batch.create_foreign_key(
            op.f("fk_permission_settings_default_role_id_permission_roles"),
            "permission_roles",
            ["default_role_id"],
            ["id"],
        )
    for table in ("permission_areas", "permission_roles"):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"uq_{table}_tenant_id"), type_="unique")
            batch.create_unique_constraint(op.f(f"uq_{table}_tenant_id"), ["tenant_id", "key"])
            batch.drop_constraint(
                op.f(f"fk_{table}_product_id_permission_products"), type_="foreignkey"
            )
            batch.drop_column("product_id")
    op.drop_table("permission_products")
