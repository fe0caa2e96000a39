"""Model: the tenant's products (and the preset catalogs to load into one), its scope
tree, its roles, direct and derived assignments, and account conflicts with both of
their origins. Mappings, with their impact preview, are in `mappings.py`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from flask import Response, flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from service.domain import split_ref
from service.http.admin.catalogs.schemas import CatalogLoadSchema
from service.http.admin.paging import MAX_PAGE_SIZE, PAGE_SIZE
from service.http.admin.products.schemas import TenantProductSchema
from service.http.admin.roles.schemas import RoleSchema
from service.http.admin.scopes.schemas import ACCOUNT_TYPES, ScopeCreateSchema
from service.http.console.blueprint import (
    FormErrors,
    actor,
    blueprint,
    page_number,
    parse_form,
    refused_into,
    render,
    tenant_id,
)
from service.http.context import uow
from service.services import (
    assignments,
    catalogs,
    conflicts,
    products,
    roles,
    scopes,
    user_permissions,
)
from service.services.permission_model import TenantModel, read_model


def shown_beside(errors: FormErrors, fields: Iterable[str]) -> FormErrors:
    """The form's messages with those naming no control of the form moved to the top
    of the form (a rule may name a field the form spells otherwise)."""
    known = set(fields)
    out = FormErrors()
    for name, messages in errors.items():
        for message in messages:
            if name in known or not name:
                out.add(name, message)
            else:
                out.add("", f"{name}: {message}")
    return out


def scope_choices(model: TenantModel) -> list[tuple[str, str]]:
    """Every scope as (id, its path of names), in tree order, for a select."""
    out: list[tuple[str, str]] = []

    def walk(scope_id: str) -> None:
        scope = model.tree.get(scope_id)
        out.append((scope_id, f"{model.tree.path_names(scope_id)} ({scope.type})"))
        for child in model.tree.children(scope_id):
            walk(child)

    for root in model.tree.roots():
        walk(root)
    return out


def role_choices(model: TenantModel) -> list[tuple[str, str]]:
    """Every role as (its ref product/key, "Name (product/key)"), for a select."""
    return sorted(
        ((ref, f"{role.name} ({ref})") for ref, role in model.roles.items()),
        key=lambda choice: choice[1].lower(),
    )


# -- products and presets ---------------------------------------------------------------


def _products_page(
    errors: FormErrors | None = None, status: int = 200, form: dict[str, Any] | None = None
) -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    listed, _ = products.list_products(uow(), tenant_id(), page=1, per_page=MAX_PAGE_SIZE)
    areas = Counter(area.product for area in model.areas.values())
    held = Counter(role.product for role in model.roles.values())
    return render(
        "products.html",
        status,
        products=listed,
        area_counts=areas,
        role_counts=held,
        catalogs=[catalogs.summary(c) for c in catalogs.list_catalogs()],
        errors=errors or FormErrors(),
        form=form or {},
    )


@blueprint.route("/products", endpoint="products")
def products_page() -> tuple[str, int]:
    return _products_page()


@blueprint.route("/products", methods=["POST"])
def create_product() -> Response | tuple[str, int]:
    body, errors = parse_form(TenantProductSchema())
    if not errors:
        with refused_into(errors):
            created = products.create_product(uow(), tenant_id(), body, actor())
            flash(f"Product {created['name']} ({created['key']}) is created.")
            return redirect(url_for("console.products"), code=303)
    fields = ("key", "name", "description", "group_only", "is_default")
    return _products_page(shown_beside(errors, fields), 422, dict(request.form))


@blueprint.route("/catalogs/<key>/load", methods=["POST"])
def load_catalog(key: str) -> Response | tuple[str, int]:
    catalog = catalogs.get_catalog(key)  # an unknown preset is a 404
    body, errors = parse_form(CatalogLoadSchema())
    if not errors:
        with refused_into(errors):
            plan = catalogs.load_catalog(
                uow(),
                tenant_id(),
                key,
                overwrite=body["overwrite"],
                product=body["product"],
                actor=actor(),
            )
            done = plan.to_dict()
            if not plan.changes_anything:
                flash(f"Preset {catalog.name} is loaded in {done['product']} already: no change.")
            else:
                flash(
                    f"Preset {catalog.name} is loaded into product {done['product']}: "
                    f"{len(done['areas']['create'])} areas and {len(done['roles']['create'])} "
                    f"roles created, {len(done['areas']['update'])} areas and "
                    f"{len(done['roles']['update'])} roles updated."
                )
            return redirect(url_for("console.products"), code=303)
    return _products_page(shown_beside(errors, ()), 422)


# -- the scope tree ------------------------------------------------------------------


def _scopes_page(
    errors: FormErrors | None = None, status: int = 200, form: dict[str, Any] | None = None
) -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    return render(
        "scopes.html",
        status,
        tree=model.tree,
        parents=scope_choices(model),
        scope_types=[t["key"] for t in scopes.list_scope_types(uow(), tenant_id())],
        account_types=ACCOUNT_TYPES,
        errors=errors or FormErrors(),
        form=form or {},
    )


@blueprint.route("/scopes", endpoint="scopes")
def scopes_page() -> tuple[str, int]:
    return _scopes_page()


@blueprint.route("/scopes", methods=["POST"])
def create_scope() -> Response | tuple[str, int]:
    body, errors = parse_form(ScopeCreateSchema())
    if not errors:
        with refused_into(errors):
            created = scopes.create_scope(uow(), tenant_id(), actor=actor(), **body)
            flash(f"Scope {created.name} ({created.type}) is added.")
            return redirect(url_for("console.scopes"), code=303)
    fields = ("type", "name", "parent_id", "account_type")
    return _scopes_page(shown_beside(errors, fields), 422, dict(request.form))


# -- roles ---------------------------------------------------------------------------

ROLE_FIELDS = (
    "key",
    "name",
    "description",
    "grants",
    "allowed_scope_types",
    "allowed_account_types",
    "reaches_descendants",
    "root_only",
)


def _roles_page(
    errors: FormErrors | None = None,
    status: int = 200,
    form: MultiDict[str, str] | None = None,
) -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    by_product: dict[str, list[Any]] = {key: [] for key in sorted(model.products)}
    for role in sorted(model.roles.values(), key=lambda r: r.key):
        by_product.setdefault(role.product, []).append(role)
    areas_of: dict[str, list[Any]] = {key: [] for key in by_product}
    for area in sorted(model.areas.values(), key=lambda a: a.key):
        areas_of.setdefault(area.product, []).append(area)
    return render(
        "roles.html",
        status,
        products=model.products,
        roles_by_product=by_product,
        areas_by_product=areas_of,
        scope_types=[t["key"] for t in scopes.list_scope_types(uow(), tenant_id())],
        account_types=ACCOUNT_TYPES,
        errors=errors or FormErrors(),
        form=form or MultiDict(),
        form_product=(form or {}).get("product"),
    )


def _role_body(form: MultiDict[str, str]) -> dict[str, Any]:
    """The role form as RoleSchema reads a body: a select per area (empty: not
    granted) makes `grants`; ticked boxes make the lists (none ticked: any)."""
    body: dict[str, Any] = {
        name: form[name]
        for name in ("product", "key", "name", "description", "reaches_descendants", "root_only")
        if form.get(name)
    }
    body["grants"] = {
        name.removeprefix("grant."): level
        for name, level in form.items()
        if name.startswith("grant.") and level
    }
    for name in ("allowed_scope_types", "allowed_account_types"):
        ticked = form.getlist(name)
        if ticked:
            body[name] = ticked
    return body


@blueprint.route("/roles", endpoint="roles")
def roles_page() -> tuple[str, int]:
    return _roles_page()


@blueprint.route("/roles", methods=["POST"])
def create_role() -> Response | tuple[str, int]:
    body, errors = parse_form(RoleSchema(), _role_body(request.form))
    if not errors:
        with refused_into(errors):
            created = roles.create_role(uow(), tenant_id(), body, actor())
            flash(f"Role {created.name} ({created.product.key}/{created.key}) is created.")
            return redirect(url_for("console.roles"), code=303)
    return _roles_page(shown_beside(errors, ROLE_FIELDS), 422, request.form)


# -- assignments and conflicts ----------------------------------------------------------


@blueprint.route("/assignments", endpoint="assignments")
def assignments_page() -> tuple[str, int]:
    """Direct assignments, oldest first; for one user (?user=), every assignment the
    user holds, derived from mappings and defaults as well as direct."""
    model = read_model(uow(), tenant_id())
    user = request.args.get("user", "").strip()
    errors = FormErrors()
    context: dict[str, Any] = {"user": user, "errors": errors, "model": model, "held": None}
    if user:
        with refused_into(errors):
            context["held"] = user_permissions.permissions_of(uow(), tenant_id(), user, None)
        if errors:
            return render("assignments.html", 404, **context)
        return render("assignments.html", **context)
    page = page_number()
    rows, total = assignments.list_assignments(uow(), tenant_id(), page=page, per_page=PAGE_SIZE)
    names = user_permissions.user_names(uow(), tenant_id(), [row.user_id for row, _ in rows])
    return render(
        "assignments.html",
        direct=[(row, ref, names.get(row.user_id, row.user_id)) for row, ref in rows],
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        **context,
    )


@blueprint.route("/conflicts", endpoint="conflicts")
def conflicts_page() -> tuple[str, int]:
    model = read_model(uow(), tenant_id())
    user = request.args.get("user", "").strip()
    errors = FormErrors()
    page = page_number()
    found: list[dict[str, Any]] = []
    total = 0
    with refused_into(errors):
        found, total = conflicts.list_conflicts(
            uow(), tenant_id(), page=page, per_page=PAGE_SIZE, user=user or None
        )
    return render(
        "conflicts.html",
        404 if errors else 200,
        conflicts=found,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        user=user,
        errors=errors,
        model=model,
        split_ref=split_ref,
    )
