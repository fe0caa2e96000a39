from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.domain import UserType
from service.http.limits import fits
from service.persistence.user_models import UserTypeEntryRow

USER_TYPES = [t.value for t in UserType]
# A table maps the values a tenant's IdPs send; a few dozen is a large one.
MAX_ENTRIES = 500


def _mappings(description: str, **options: object) -> fields.Dict:
    """userType value -> user type, each value as long as a userType may be."""
    return fields.Dict(
        keys=fields.String(validate=fits(UserTypeEntryRow.value, min=1)),
        values=fields.String(validate=validate.OneOf(USER_TYPES)),
        metadata={"description": description},
        **options,  # type: ignore[arg-type]
    )


class TableRowSchema(Schema):
    value = fields.String()
    user_type = fields.String(metadata={"description": ", ".join(USER_TYPES)})
    source = fields.String(metadata={"description": "default, or tenant (an entry of its own)"})


class UnmappedValueSchema(Schema):
    value = fields.String(metadata={"description": "A userType as the IdP sent it"})
    users = fields.Integer(metadata={"description": "How many active users hold it"})


class UserTypesSchema(Schema):
    mappings = _mappings("The tenant's own entries: userType value -> user type")
    table = fields.List(
        fields.Nested(TableRowSchema),
        metadata={
            "description": "Every value read as a type: the defaults (compared ignoring "
            "case, spaces, hyphens and underscores) and the tenant's entries over them"
        },
    )
    unmapped = fields.List(
        fields.Nested(UnmappedValueSchema),
        metadata={"description": "Values the tenant's active users hold that map to no type"},
    )


class UserTypesUpdateSchema(Schema):
    mappings = _mappings(
        "The tenant's whole set of entries, userType value -> user type, e.g. "
        '{"Member": "customer", "Guest": "partner"} for Entra ID; {} leaves the defaults '
        "alone. A value naming one of the four types cannot mean another.",
        required=True,
        validate=validate.Length(max=MAX_ENTRIES),
    )
