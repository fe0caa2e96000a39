"""SCIM filters and sort orders, translated into SQL.

scim2-models parses and validates a filter and binds each attribute path to its
model; this module walks the resulting tree (its `FilterVisitor`) and emits a
SQLAlchemy expression, so that filtering, sorting and paging all happen in the
database. Attributes with a column of their own use it (and its index); the rest
are read from the JSON document with the JSON functions of SQLite or PostgreSQL.
Multi-valued attributes become EXISTS over the array's elements, and group
membership an EXISTS over the membership table.

The comparison rules follow scim2-models' in-memory evaluator, so that a filter
selects the same resources in SQL as `ScimFilter.match` would:

- a missing value is `eq null`, is `ne` anything else, and no ordering holds on it;
- on a multi-valued attribute, a comparison holds when any value holds, and `ne`
  when no value equals the operand;
- strings compare case-insensitively unless the attribute is caseExact.

Anything this module cannot translate is an `InvalidFilterException` (400
invalidFilter), never a silent match-all and never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scim2_models import (
    AttributeBinding,
    BaseModel,
    InvalidFilterException,
    Resource,
    ScimFilter,
)
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from service.persistence.base import NUL
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


@dataclass(frozen=True)
class Column:
    """An attribute held in a column of its own (the table's column, not the ORM
    attribute: comparisons on it build in a fraction of the time)."""

    column: ColumnElement[Any]
    # True when the column already holds the lower-cased value.
    lowered: bool = False


@dataclass(frozen=True, eq=False)
class Table:
    """How one resource type is stored: its ORM class and its column-backed attributes."""

    orm: type[ScimUser] | type[ScimGroup]
    schema: str
    resource_type: str
    # keyed by the attribute path after the schema URN, lower-cased: "name.givenname"
    columns: dict[str, Column]


_users = ScimUser.__table__.c
_groups = ScimGroup.__table__.c

USERS = Table(
    orm=ScimUser,
    schema=USER_SCHEMA,
    resource_type="User",
    columns={
        "id": Column(_users.id),
        "username": Column(_users.user_name_lower, lowered=True),
        "externalid": Column(_users.external_id),
        "displayname": Column(_users.display_name),
        "usertype": Column(_users.user_type),
        "name.givenname": Column(_users.given_name),
        "name.familyname": Column(_users.family_name),
        "meta.created": Column(_users.created),
        "meta.lastmodified": Column(_users.last_modified),
    },
)

GROUPS = Table(
    orm=ScimGroup,
    schema=GROUP_SCHEMA,
    resource_type="Group",
    columns={
        "id": Column(_groups.id),
        "displayname": Column(_groups.display_name_lower, lowered=True),
        "externalid": Column(_groups.external_id),
        "meta.created": Column(_groups.created),
        "meta.lastmodified": Column(_groups.last_modified),
    },
)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_operator(expr: ColumnElement[Any], op: CompareOperator, value: str) -> Any:
    if op == CompareOperator.co:
        return expr.like(f"%{_escape_like(value)}%", escape="\\")
    if op == CompareOperator.sw:
        return expr.like(f"{_escape_like(value)}%", escape="\\")
    if op == CompareOperator.ew:
        return expr.like(f"%{_escape_like(value)}", escape="\\")
    return _ordered(expr, op, value)


def _ordered(expr: ColumnElement[Any], op: CompareOperator, value: Any) -> Any:
    match op:
        case CompareOperator.eq:
            return expr == value
        case CompareOperator.gt:
            return expr > value
        case CompareOperator.ge:
            return expr >= value
        case CompareOperator.lt:
            return expr < value
        case CompareOperator.le:
            return expr <= value
    raise InvalidFilterException(detail=f"operator {op.value!r} is not supported here")


class _Json:
    """The JSON functions of the dialect in use."""

    def __init__(self, dialect: str) -> None:
        self.postgresql = dialect == "postgresql"
        self.json_type = JSONB() if self.postgresql else JSON()

    def path(self, document: Any, keys: list[str | int]) -> Any:
        return type_coerce(document, self.json_type)[tuple(keys)]

    def elements(self, document: Any, keys: list[str | int]) -> Any:
        if self.postgresql:
            array = type_coerce(document, JSONB())[tuple(keys)]
            function = func.jsonb_array_elements(
                case((func.jsonb_typeof(array) == "array", array), else_=None)
            )
            return function.table_valued("value", with_ordinality="position").render_derived(
                name="element"
            )
        quoted = "".join(f'."{key}"' for key in keys)
        function = func.json_each(document, f"${quoted}")
        return function.table_valued("value", "key").alias("element")

    def position(self, elements: Any) -> Any:
        return elements.c.position if self.postgresql else elements.c.key

    def element(self, elements: Any) -> Any:
        return type_coerce(elements.c.value, self.json_type)

    def scalar_element_text(self, elements: Any) -> Any:
        if self.postgresql:
            return type_coerce(elements.c.value, JSONB()).op("#>>")(literal("{}", String()))
        return type_coerce(elements.c.value, String())


def _typed(json_value: Any, python_type: type | None) -> Any:
    """A JSON value read as the SQL type its attribute compares in."""
    if python_type is bool:
        return json_value.as_boolean()
    if python_type in (int, float):
        return json_value.as_float()
    return json_value.as_string()


def _target_type(binding: AttributeBinding) -> type | None:
    """The Python type an attribute compares as; None for every string-like type."""
    target = binding.target_type
    if not isinstance(target, type):
        return None
    if target in (bool, int, float, datetime) or issubclass(target, BaseModel):
        return target
    # str, and the types that hold strings: EmailStr, Reference, URI ...
    return str


def _is_model(python_type: type | None) -> bool:
    return isinstance(python_type, type) and issubclass(python_type, BaseModel)


def _alias(model: type[BaseModel], field_name: str) -> str:
    field = model.model_fields[field_name]
    return field.serialization_alias or field.alias or field_name


# How an attribute path resolves against a model never changes; resolving it means
# building and checking a filter, which was a third of compiling a lookup.
_BINDINGS: dict[tuple[type[BaseModel], str, bool], AttributeBinding | None] = {}
_MAX_BINDINGS = 1024


class _Terms(FilterVisitor[int]):
    """Counts the comparisons of a filter, and refuses a compared string holding NUL
    (no stored value holds one, and PostgreSQL refuses it as a parameter)."""

    def visit_comparison(self, node: Comparison) -> int:
        if isinstance(node.value, str) and NUL in node.value:
            raise InvalidFilterException(
                detail=f"a filter value compared with {node.attr_path} contains NUL"
            )
        return 1

    def visit_present(self, node: Present) -> int:
        return 1

    def visit_not(self, node: Not) -> int:
        return self.visit(node.expr)

    def visit_logical_expr(self, node: LogicalExpr) -> int:
        return sum(self.visit(term) for term in node.terms)

    def visit_value_path(self, node: ValuePath) -> int:
        return self.visit(node.val_filter)


class SqlFilter(FilterVisitor[Any]):
    """Compiles a filter bound to one resource model into a SQL condition.

    A filter of more than `max_terms` comparisons is an invalidFilter: the database
    would spend long on it or refuse it (SQLite's expression depth), and no IdP
    sends one (they look up one userName, externalId or displayName at a time).
    """

    def __init__(
        self,
        model: type[Resource[Any]],
        table: Table,
        dialect: str,
        *,
        max_terms: int | None = None,
    ) -> None:
        self.model = model
        self.table = table
        self.json = _Json(dialect)
        self.max_terms = max_terms

    # -- entry points -------------------------------------------------

    def compile(self, expression: str | ScimFilter[Any]) -> ColumnElement[bool]:
        if isinstance(expression, ScimFilter) and expression.models == (self.model,):
            bound = expression  # already parsed and bound to this model
        else:
            try:
                bound = ScimFilter[self.model](expression)  # type: ignore[index]
            except InvalidFilterException:
                raise
            except (ValueError, TypeError) as error:
                raise InvalidFilterException(detail=str(error)) from None
        terms = _Terms().visit(bound.ast)
        if self.max_terms is not None and terms > self.max_terms:
            raise InvalidFilterException(
                detail=f"the filter has {terms} terms; at most {self.max_terms} are allowed"
            )
        return self.visit(bound.ast)

    # -- attribute locations ------------------------------------------

    def _bind(self, attr_path: AttrPath, *, for_comparison: bool) -> AttributeBinding | None:
        key = (self.model, str(attr_path), for_comparison)
        if key in _BINDINGS:
            return _BINDINGS[key]
        bound = ScimFilter[self.model](f"{attr_path} pr")  # type: ignore[index]
        if for_comparison:
            binding = bound.resolve_comparison(attr_path, strict=False)
        else:
            binding = bound.resolve(attr_path, strict=False)
        if len(_BINDINGS) >= _MAX_BINDINGS:
            _BINDINGS.clear()
        _BINDINGS[key] = binding
        return binding

    def _relative(self, binding: AttributeBinding) -> tuple[str | None, str]:
        """The extension URN (None for the core schema) and the path below it."""
        urn = binding.urn
        core = self.table.schema + ":"
        if urn.lower().startswith(core.lower()):
            return None, urn[len(core) :]
        extension, _, rest = urn.rpartition(":")
        return extension, rest

    def _json_keys(self, binding: AttributeBinding) -> list[str | int]:
        extension, _ = self._relative(binding)
        keys: list[str | int] = [extension] if extension else []
        host = binding.model
        keys.append(_alias(host, binding.field_name))
        if binding.sub_field_name is not None:
            item = binding.field_type
            if _is_model(item):
                keys.append(_alias(item, binding.sub_field_name))  # type: ignore[arg-type]
        return keys

    def _column(self, binding: AttributeBinding) -> Column | None:
        extension, rest = self._relative(binding)
        if extension:
            return None
        return self.table.columns.get(rest.lower())

    # -- visitor ------------------------------------------------------

    def visit_logical_expr(self, node: LogicalExpr) -> Any:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_not(self, node: Not) -> Any:
        return not_(self.visit(node.expr))

    def visit_present(self, node: Present) -> Any:
        binding = self._bind(node.attr_path, for_comparison=False)
        if binding is None:
            return false()
        special = self._special(binding)
        if special is not None:
            return special.present()
        column = self._column(binding)
        if column is not None:
            expr = column.column
            if _target_type(binding) is str:
                return and_(expr.is_not(None), expr != "")
            return expr.is_not(None)
        if binding.is_multivalued:
            elements = self.json.elements(self.table.orm.document, self._array_keys(binding))
            if binding.sub_field_name is None:
                condition: Any = true()
            else:
                value = _typed(
                    self.json.element(elements)[_alias(binding.field_type, binding.sub_field_name)],  # type: ignore[arg-type]
                    binding.sub_field_type,
                )
                condition = self._present_value(value, binding.sub_field_type)
            return select(literal(1)).select_from(elements).where(condition).exists()
        python_type = _target_type(binding)
        value = self.json.path(self.table.orm.document, self._json_keys(binding))
        if _is_model(python_type):
            text = value.as_string()
            return and_(text.is_not(None), text != "{}")
        return self._present_value(_typed(value, python_type), python_type)

    @staticmethod
    def _present_value(value: Any, python_type: type | None) -> Any:
        if python_type is str or python_type is None:
            return and_(value.is_not(None), value != "")
        return value.is_not(None)

    def visit_comparison(self, node: Comparison) -> Any:
        binding = self._bind(node.attr_path, for_comparison=True)
        if binding is None:
            return false()
        expected = coerce_value(binding, node.value, node.op)
        special = self._special(binding)
        if special is not None:
            return special.compare(node.op, expected)
        column = self._column(binding)
        if column is not None:
            return self._compare(column.column, binding, node.op, expected, lowered=column.lowered)
        if binding.is_multivalued:
            return self._compare_elements(binding, node.op, expected, None)
        python_type = _target_type(binding)
        if _is_model(python_type):
            raise InvalidFilterException(
                detail=f"a complex attribute cannot be compared: {node.attr_path}"
            )
        value = _typed(
            self.json.path(self.table.orm.document, self._json_keys(binding)), python_type
        )
        return self._compare(value, binding, node.op, expected)

    def visit_value_path(self, node: ValuePath) -> Any:
        binding = self._bind(node.attr_path, for_comparison=False)
        if binding is None:
            return false()
        if not binding.is_multivalued:
            raise InvalidFilterException(
                detail=f"{node.attr_path} holds a single value; it cannot be selected with []"
            )
        special = self._special(binding)
        if special is not None:
            return special.value_path(node.val_filter, self)
        elements = self.json.elements(self.table.orm.document, self._array_keys(binding))
        inner = _ElementFilter(self, binding, elements).visit(node.val_filter)
        return select(literal(1)).select_from(elements).where(inner).exists()

    # -- helpers ------------------------------------------------------

    def _array_keys(self, binding: AttributeBinding) -> list[str | int]:
        extension, _ = self._relative(binding)
        keys: list[str | int] = [extension] if extension else []
        keys.append(_alias(binding.model, binding.field_name))
        return keys

    def _compare_elements(
        self, binding: AttributeBinding, op: CompareOperator, expected: Any, _: None
    ) -> Any:
        elements = self.json.elements(self.table.orm.document, self._array_keys(binding))
        if binding.sub_field_name is not None and _is_model(binding.field_type):
            value = _typed(
                self.json.element(elements)[_alias(binding.field_type, binding.sub_field_name)],  # type: ignore[arg-type]
                binding.sub_field_type,
            )
        else:
            value = self.json.scalar_element_text(elements)
        if op == CompareOperator.ne:
            if expected is None:
                # no value is null: every value present
                return not_(
                    select(literal(1)).select_from(elements).where(value.is_(None)).exists()
                )
            equal = self._compare(value, binding, CompareOperator.eq, expected)
            return not_(select(literal(1)).select_from(elements).where(equal).exists())
        condition = self._compare(value, binding, op, expected)
        return select(literal(1)).select_from(elements).where(condition).exists()

    def _compare(
        self,
        expr: Any,
        binding: AttributeBinding,
        op: CompareOperator,
        expected: Any,
        *,
        lowered: bool = False,
    ) -> Any:
        if expected is None:
            if op == CompareOperator.eq:
                return expr.is_(None)
            if op == CompareOperator.ne:
                return expr.is_not(None)
            return false()
        python_type = _target_type(binding)
        if op == CompareOperator.ne:
            equal = self._compare(expr, binding, CompareOperator.eq, expected, lowered=lowered)
            return not_(equal)
        # Every comparison below is false, never NULL, on a missing value, so
        # that `not (...)` selects what the in-memory evaluator selects.
        present = expr.is_not(None)
        substring = op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew)
        if substring and (python_type is not str or not isinstance(expected, str)):
            return false()  # substring tests hold only between strings
        if isinstance(expected, str) and python_type is str:
            if not binding.case_exact:
                expected = expected.lower()
                if not lowered:
                    expr = func.lower(expr)
            return and_(present, _string_operator(expr, op, expected))
        if isinstance(expected, bool):
            if op == CompareOperator.eq:
                return and_(present, expr == expected)
            raise InvalidFilterException(detail="booleans cannot be ordered")
        if isinstance(expected, datetime) and not self._column_is_time(expr):
            raise InvalidFilterException(detail="this dateTime attribute cannot be compared")
        return and_(present, _ordered(expr, op, expected))

    @staticmethod
    def _column_is_time(expr: Any) -> bool:
        return getattr(expr, "key", None) in {"created", "last_modified"}

    def _special(self, binding: AttributeBinding) -> _Membership | None:
        extension, rest = self._relative(binding)
        if extension:
            return None
        head = rest.split(".")[0].lower()
        if self.table is GROUPS and head == "members":
            return _Membership(self.table, binding, direction="members")
        if self.table is USERS and head == "groups":
            return _Membership(self.table, binding, direction="groups")
        return None


class _ElementFilter(FilterVisitor[Any]):
    """The filter inside `attr[...]`, evaluated on one element of the array."""

    def __init__(self, outer: SqlFilter, binding: AttributeBinding, elements: Any) -> None:
        self.outer = outer
        self.binding = binding
        self.elements = elements

    def _sub(self, attr_path: AttrPath) -> AttributeBinding | None:
        if attr_path.sub_attr is not None or attr_path.uri is not None:
            raise InvalidFilterException(detail=f"{attr_path} cannot appear inside []")
        outer = AttrPath(attr=self.binding.urn.rsplit(":", 1)[1], sub_attr=attr_path.attr)
        extension, _ = self.outer._relative(self.binding)
        if extension:
            outer = AttrPath(attr=outer.attr, sub_attr=outer.sub_attr, uri=extension)
        return self.outer._bind(outer, for_comparison=False)

    def _value(self, sub: AttributeBinding) -> Any:
        if not _is_model(sub.field_type):
            return self.outer.json.scalar_element_text(self.elements)
        element = self.outer.json.element(self.elements)
        return _typed(element[_alias(sub.field_type, sub.sub_field_name)], sub.sub_field_type)  # type: ignore[arg-type]

    def visit_comparison(self, node: Comparison) -> Any:
        sub = self._sub(node.attr_path)
        if sub is None or sub.sub_field_name is None:
            return false()
        expected = coerce_value(sub, node.value, node.op)
        return self.outer._compare(self._value(sub), sub, node.op, expected)

    def visit_present(self, node: Present) -> Any:
        sub = self._sub(node.attr_path)
        if sub is None or sub.sub_field_name is None:
            return false()
        return SqlFilter._present_value(self._value(sub), sub.sub_field_type)

    def visit_not(self, node: Not) -> Any:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Any:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Any:
        raise InvalidFilterException(detail="a [] selection cannot be nested in another")


class _Membership:
    """`Group.members` and `User.groups`, answered from the membership table."""

    def __init__(self, table: Table, binding: AttributeBinding, direction: str) -> None:
        self.table = table
        self.binding = binding
        self.direction = direction

    def _membership(self, condition: Any = None) -> Any:
        orm = self.table.orm
        if self.direction == "members":
            query = select(literal(1)).where(ScimGroupMember.group_id == orm.id)
        else:
            query = select(literal(1)).where(ScimGroupMember.member_id == orm.id)
        if condition is not None:
            query = query.where(condition)
        return query.exists()

    def _sub_column(self, sub_attr: str | None) -> Any:
        name = (sub_attr or "value").lower()
        if name == "value":
            if self.direction == "members":
                return ScimGroupMember.member_id
            return ScimGroupMember.group_id
        if name == "type" and self.direction == "members":
            return ScimGroupMember.member_type
        raise InvalidFilterException(
            detail=f"filtering on {self.binding.urn} supports value"
            + (" and type" if self.direction == "members" else "")
        )

    def present(self) -> Any:
        return self._membership()

    def compare(self, op: CompareOperator, expected: Any) -> Any:
        column = self._sub_column(self.binding.sub_field_name)
        if op == CompareOperator.eq:
            return self._membership(column == expected)
        if op == CompareOperator.ne:
            return not_(self._membership(column == expected))
        if op == CompareOperator.co and isinstance(expected, str):
            return self._membership(column.like(f"%{_escape_like(expected)}%", escape="\\"))
        if op == CompareOperator.sw and isinstance(expected, str):
            return self._membership(column.like(f"{_escape_like(expected)}%", escape="\\"))
        if op == CompareOperator.ew and isinstance(expected, str):
            return self._membership(column.like(f"%{_escape_like(expected)}", escape="\\"))
        raise InvalidFilterException(detail=f"operator {op.value} is not supported on members")

    def value_path(self, val_filter: FilterNode, outer: SqlFilter) -> Any:
        return self._membership(_MembershipElement(self).visit(val_filter))


class _MembershipElement(FilterVisitor[Any]):
    def __init__(self, membership: _Membership) -> None:
        self.membership = membership

    def visit_comparison(self, node: Comparison) -> Any:
        column = self.membership._sub_column(node.attr_path.attr)
        value = node.value
        if node.op == CompareOperator.eq:
            return column == value
        if node.op == CompareOperator.ne:
            return column != value
        if isinstance(value, str) and node.op in (
            CompareOperator.co,
            CompareOperator.sw,
            CompareOperator.ew,
        ):
            return _string_operator(column, node.op, value)
        raise InvalidFilterException(detail=f"operator {node.op.value} is not supported here")

    def visit_present(self, node: Present) -> Any:
        return self.membership._sub_column(node.attr_path.attr).is_not(None)

    def visit_not(self, node: Not) -> Any:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> Any:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> Any:
        raise InvalidFilterException(detail="a [] selection cannot be nested in another")


def sort_expression(
    model: type[Resource[Any]], table: Table, dialect: str, sort_by: str
) -> tuple[Any, type | None]:
    """The SQL value a resource sorts by, and its Python type (for cursor positions).

    Strings sort case-insensitively unless caseExact; a multi-valued attribute
    sorts by its primary value, else its first one (RFC 7644 §3.4.2.3).
    """
    compiler = SqlFilter(model, table, dialect)
    try:
        binding = compiler._bind(AttrPath(**_split_path(sort_by)), for_comparison=True)
    except (ValueError, InvalidFilterException):
        raise InvalidFilterException(detail=f"cannot sort by {sort_by!r}") from None
    if binding is None:
        return literal(None), None
    if compiler._special(binding) is not None:
        raise InvalidFilterException(detail=f"cannot sort by {sort_by!r}")
    python_type = _target_type(binding)
    column = compiler._column(binding)
    if column is not None:
        expr: Any = column.column
        if python_type is str and not binding.case_exact and not column.lowered:
            expr = func.lower(expr)
        return expr, python_type
    if _is_model(python_type):
        raise InvalidFilterException(detail=f"cannot sort by the complex attribute {sort_by!r}")
    if binding.is_multivalued:
        keys = compiler._array_keys(binding)
        elements = compiler.json.elements(table.orm.document, keys)
        element = compiler.json.element(elements)
        if _is_model(binding.field_type):
            sub = binding.sub_field_name or "value"
            sub_alias = _alias(binding.field_type, sub)  # type: ignore[arg-type]
            value = _typed(element[sub_alias], binding.sub_field_type)
            fields = binding.field_type.model_fields  # type: ignore[union-attr]
            primary_first = (
                element["primary"].as_boolean().is_(True) if "primary" in fields else true()
            )
            expr = (
                select(value)
                .select_from(elements)
                .order_by(case((primary_first, 0), else_=1), compiler.json.position(elements))
                .limit(1)
                .scalar_subquery()
            )
        else:
            expr = (
                select(compiler.json.scalar_element_text(elements))
                .select_from(elements)
                .limit(1)
                .scalar_subquery()
            )
    else:
        expr = _typed(
            compiler.json.path(table.orm.document, compiler._json_keys(binding)), python_type
        )
    if python_type is str and not binding.case_exact:
        expr = func.lower(expr)
    return expr, python_type


def _split_path(path: str) -> dict[str, Any]:
    uri: str | None = None
    rest = path
    if path.lower().startswith("urn:"):
        uri, _, rest = path.rpartition(":")
    attr, _, sub = rest.partition(".")
    return {"attr": attr, "sub_attr": sub or None, "uri": uri}
