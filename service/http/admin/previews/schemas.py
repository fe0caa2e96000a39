"""Schemas of the previews API. A change's body is read by the schema of the endpoint
that makes that change (plus the id its URL would carry), never restated here."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from service.http.admin.assignments.schemas import AssignmentCreateSchema
from service.http.admin.mappings.schemas import MappingCreateSchema, MappingUpdateSchema
from service.http.admin.paging import QuerySchema
from service.http.admin.permission_settings.schemas import PermissionSettingsUpdateSchema
from service.http.admin.products.schemas import ProductUpdateSchema, product_field
from service.http.admin.roles.schemas import RoleUpdateSchema
from service.http.admin.scopes.schemas import ScopeDeleteQuerySchema, ScopeUpdateSchema
from service.http.limits import fits
from service.persistence.permission_models import (
    AssignmentRow,
    MappingRow,
    ProductRow,
    RoleRow,
    ScopeRow,
)
from service.persistence.scim_models import ScimUser

CONFIRM_DESCRIPTION = (
    "Confirm a change that takes access from more users than the tenant's revocation "
    "brake allows (see /api/v1/settings/permissions); without it such a change is "
    "refused with 409 `mass_revocation` and the preview's counts"
)


class ConfirmQuerySchema(QuerySchema):
    confirm = fields.Boolean(load_default=False, metadata={"description": CONFIRM_DESCRIPTION})


# -- a change's body, per kind: the endpoint's schema and the id in its URL -----------


class MappingUpdateChangeSchema(MappingUpdateSchema):
    mapping_id = fields.String(required=True, validate=fits(MappingRow.id, min=1))


class MappingDeleteChangeSchema(Schema):
    mapping_id = fields.String(required=True, validate=fits(MappingRow.id, min=1))


class RoleUpdateChangeSchema(RoleUpdateSchema):
    role = fields.String(
        required=True, validate=fits(RoleRow.key, min=1), metadata={"description": "The role key"}
    )
    product = product_field()


class ScopeUpdateChangeSchema(ScopeUpdateSchema):
    scope_id = fields.String(required=True, validate=fits(ScopeRow.id, min=1))


class ScopeDeleteChangeSchema(ScopeDeleteQuerySchema):
    class Meta:
        unknown = RAISE

    scope_id = fields.String(required=True, validate=fits(ScopeRow.id, min=1))


class AssignmentDeleteChangeSchema(Schema):
    assignment_id = fields.String(required=True, validate=fits(AssignmentRow.id, min=1))


class ProductUpdateChangeSchema(ProductUpdateSchema):
    product = fields.String(
        required=True,
        validate=fits(ProductRow.key, min=1),
        metadata={"description": "The product's key"},
    )


CHANGE_SCHEMAS: dict[str, type[Schema]] = {
    "mapping.create": MappingCreateSchema,
    "mapping.update": MappingUpdateChangeSchema,
    "mapping.delete": MappingDeleteChangeSchema,
    "role.update": RoleUpdateChangeSchema,
    "scope.update": ScopeUpdateChangeSchema,
    "scope.move": ScopeUpdateChangeSchema,
    "scope.delete": ScopeDeleteChangeSchema,
    "assignment.create": AssignmentCreateSchema,
    "assignment.delete": AssignmentDeleteChangeSchema,
    "product.update": ProductUpdateChangeSchema,
    "settings.update": PermissionSettingsUpdateSchema,
}

_KIND_DESCRIPTION = (
    "What change: mapping.create (the body of POST /api/v1/mappings), mapping.update "
    "({mapping_id} + the body of PATCH /api/v1/mappings/{id}), mapping.delete "
    "({mapping_id}), role.update ({role, product?} + the body of PATCH /api/v1/roles/{key}), "
    "scope.update or scope.move ({scope_id} + the body of PATCH /api/v1/scopes/{id}; "
    "parent_id moves it), scope.delete ({scope_id, cascade?}), assignment.create (the body "
    "of POST /api/v1/assignments), assignment.delete ({assignment_id}), product.update "
    "({product} + the body of PATCH /api/v1/products/{key}), settings.update (the body of "
    "PUT /api/v1/settings/permissions)"
)


class PreviewCreateSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(sorted(CHANGE_SCHEMAS)),
        metadata={"description": _KIND_DESCRIPTION},
    )
    change = fields.Dict(
        required=True,
        metadata={"description": "The change's body, as its kind's endpoint takes it"},
    )

    @validates_schema
    def _change_fits_its_kind(self, data: dict[str, Any], **_: Any) -> None:
        schema = CHANGE_SCHEMAS.get(data.get("kind", ""))
        if schema is not None:
            errors = schema().validate(data.get("change") or {})
            if errors:
                raise ValidationError({"change": errors})

    @post_load
    def _load_change(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["change"] = CHANGE_SCHEMAS[data["kind"]]().load(data["change"])
        return data


# -- answers -------------------------------------------------------------------------


class CountsSchema(Schema):
    users_considered = fields.Integer(
        metadata={"description": "Users the change may affect (over-approximated)"}
    )
    users_gaining = fields.Integer()
    users_losing = fields.Integer()
    conflicts_appearing = fields.Integer(metadata={"description": "Account conflicts (seed 001)"})
    conflicts_resolving = fields.Integer()


class AccessChangeSchema(Schema):
    area = fields.String(metadata={"description": "The area's ref, product/key"})
    scope_id = fields.String()
    from_level = fields.String(allow_none=True, metadata={"description": "null: no access"})
    to_level = fields.String(allow_none=True, metadata={"description": "null: no access"})
    below = fields.Boolean(
        metadata={
            "description": "false: at scope_id itself; true: at every scope under scope_id "
            "down to, not including, the scopes in except_below (and what is under them)"
        }
    )
    except_below = fields.List(fields.String())


class PreviewUserSchema(Schema):
    user_id = fields.String()
    user_name = fields.String()
    gained = fields.List(fields.Nested(AccessChangeSchema))
    lost = fields.List(fields.Nested(AccessChangeSchema))
    conflicts_appearing = fields.List(fields.Dict())
    conflicts_resolving = fields.List(fields.Dict())


class PreviewSchema(Schema):
    id = fields.String()
    kind = fields.String()
    change = fields.Dict()
    version = fields.Integer(
        metadata={"description": "The tenant's permission model version the preview saw"}
    )
    counts = fields.Nested(CountsSchema)
    created_by = fields.String()
    created_at = fields.DateTime()
    expires_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)


class PreviewUsersPageSchema(Schema):
    users = fields.List(
        fields.Nested(PreviewUserSchema),
        metadata={"description": "Users whose access or account conflicts change, by id"},
    )
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "The cursor of the next page; null: last page"}
    )


class PreviewWithUsersSchema(PreviewSchema, PreviewUsersPageSchema):
    pass


class PreviewUsersQuerySchema(QuerySchema):
    cursor = fields.String(
        validate=fits(ScimUser.id),
        metadata={"description": "next_cursor of the previous page"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class PreviewApplySchema(Schema):
    confirm = fields.Boolean(load_default=False, metadata={"description": CONFIRM_DESCRIPTION})


MASS_REVOCATION = (
    "`mass_revocation`: the change takes access from more users than the tenant's "
    "revocation brake allows; nothing was changed. `details.counts` holds the preview's "
    "counts; repeat the request with confirm=true to apply it (the audit log records "
    "both the refusal and the confirmation)"
)
