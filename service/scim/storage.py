"""A scim2-server `ScimStorage` over SQLAlchemy, scoped to one tenant and one session.

scim2-server handles the protocol (validation, PUT and PATCH semantics, ETags,
bulk, cursors, discovery) and calls this storage to read and write. Writes go
through the use cases in service.services.scim_users / scim_groups, handed the
unit of work that owns the session; reads turn rows back into scim2-models
resources, loading group members and a user's groups only when the response keeps
them. Filters, sorting and paging run in SQL (service.scim.filters). It passes
scim2-server's `ScimStorageContract`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, cast

from scim2_models import (
    InvalidCursorException,
    Meta,
    NotFoundException,
    Resource,
    ResourceType,
    ResponseParameters,
    SearchRequest,
)
from scim2_server.storage import ScimStorage, SearchPage
from sqlalchemy import (
    JSON,
    String,
    and_,
    bindparam,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from service.persistence.repositories.audit import ScimSource
from service.persistence.repositories.scim import possible_id
from service.persistence.scim_models import ScimGroup, ScimGroupMember, ScimUser
from service.persistence.unit_of_work import UnitOfWork
from service.scim.filters import GROUPS, USERS, SqlFilter, Table, sort_expression
from service.scim.render import Record
from service.services import scim_groups, scim_users
from service.services.scim_users import etag

# The largest OFFSET SQLite and PostgreSQL take (a signed 64-bit integer). A startIndex
# past it is past the end of any result all the same (RFC 7644 §3.4.2.4: an empty page).
_LAST_OFFSET = 2**63 - 1

# Statements run on every read, built once (the filter-free ones; a page with a
# filter is built per request and SQLAlchemy's compiled cache reuses its SQL).
_TENANT, _IDS = bindparam("tenant_id"), bindparam("ids", expanding=True)
_BY_ID = {
    table.resource_type: select(table.orm).where(
        table.orm.tenant_id == _TENANT, table.orm.id == bindparam("id")
    )
    for table in (USERS, GROUPS)
}
_member_user = (
    select(
        ScimGroupMember.group_id,
        ScimGroupMember.member_id,
        ScimGroupMember.member_type,
        func.coalesce(ScimGroupMember.display, ScimUser.display_name).label("display"),
    )
    .join(ScimUser, ScimUser.id == ScimGroupMember.member_id)
    .where(ScimGroupMember.group_id.in_(_IDS), ScimGroupMember.member_type == "User")
)
_member_group = (
    select(
        ScimGroupMember.group_id,
        ScimGroupMember.member_id,
        ScimGroupMember.member_type,
        func.coalesce(ScimGroupMember.display, ScimGroup.display_name).label("display"),
    )
    .join(ScimGroup, ScimGroup.id == ScimGroupMember.member_id)
    .where(ScimGroupMember.group_id.in_(_IDS), ScimGroupMember.member_type == "Group")
)
_MEMBERS_OF = union(_member_user, _member_group).order_by("group_id", "member_id")
_parent_link = aliased(ScimGroupMember)
# Whether a group is itself a member of a group: only then is a level of nesting read.
_IN_A_GROUP = select(literal(1)).where(_parent_link.member_id == ScimGroupMember.group_id).exists()
# The groups that have any of some members (users or groups), each with its name and
# whether it is itself in a group.
_GROUPS_OF = (
    select(ScimGroupMember.member_id, ScimGroupMember.group_id, ScimGroup.display_name, _IN_A_GROUP)
    .join(ScimGroup, ScimGroup.id == ScimGroupMember.group_id)
    .where(ScimGroupMember.tenant_id == _TENANT, ScimGroupMember.member_id.in_(_IDS))
)


@cache
def _direct_groups_column(dialect: str) -> Any:
    """A user's direct groups as one JSON array of [id, displayName, in a group], a column
    of the user's own row: a lookup then costs one round trip instead of two."""
    if dialect == "postgresql":
        entry: Any = func.json_build_array(
            ScimGroupMember.group_id, ScimGroup.display_name, _IN_A_GROUP
        )
        aggregate: Any = func.json_agg(entry)
    else:
        entry = func.json_array(ScimGroupMember.group_id, ScimGroup.display_name, _IN_A_GROUP)
        aggregate = func.json_group_array(entry)
    return (
        select(type_coerce(aggregate, JSON()))
        .select_from(ScimGroupMember)
        .join(ScimGroup, ScimGroup.id == ScimGroupMember.group_id)
        .where(
            ScimGroupMember.tenant_id == ScimUser.tenant_id,
            ScimGroupMember.member_id == ScimUser.id,
        )
        .scalar_subquery()
        .label("direct_groups")
    )


@cache
def _user_with_groups(dialect: str) -> Any:
    return select(ScimUser, _direct_groups_column(dialect)).where(
        ScimUser.tenant_id == _TENANT, ScimUser.id == bindparam("id")
    )


def _page_statement(
    table: Table,
    dialect: str,
    condition: Any,
    model: type[Resource[Any]],
    *,
    with_groups: bool,
    sort_by: str | None,
    descending: bool,
    limited: bool,
) -> Any:
    """A page by startIndex: the rows of the table's columns, the total (a window
    count) and, for users, their direct groups. Built per request the ordinary way:
    SQLAlchemy's compiled cache recognises the shape and compiles it once."""
    columns = table.orm.__table__.c
    where = columns.tenant_id == _TENANT
    if condition is not None:
        where = and_(where, condition)
    order: list[Any] = [columns.id]
    if sort_by is not None:
        sort, _ = sort_expression(model, table, dialect, sort_by)
        order = [sort.is_(None), sort, columns.id]
    if descending:
        order = [key.desc() for key in order]
    selected: list[Any] = [*columns, func.count().over().label("total")]
    if with_groups:
        selected.append(_direct_groups_column(dialect))
    statement = select(*selected).where(where).order_by(*order).offset(bindparam("offset"))
    if limited:
        statement = statement.limit(bindparam("limit"))
    return statement


def _wants(response_parameters: ResponseParameters[Any] | None, attribute: str) -> bool:
    """Whether a response keeps an attribute, so that it is worth loading."""
    if response_parameters is None:
        return True

    def names(paths: Any) -> list[str]:
        return [str(p).rpartition(":")[2].lower() for p in paths or []]

    wanted = attribute.lower()
    if response_parameters.attributes:
        return any(n.split(".")[0] == wanted for n in names(response_parameters.attributes))
    # Excluding a sub-attribute (members.display) still returns the attribute.
    return wanted not in names(response_parameters.excluded_attributes)


@contextmanager
def scim_storage(
    uow: UnitOfWork,
    *,
    writes: bool,
    tenant_id: str,
    actor: str,
    models: dict[str, type[Resource[Any]]],
    max_filter_terms: int | None = None,
    source: ScimSource | None = None,
) -> Iterator[SqlStorage]:
    """A tenant's storage for one SCIM request. A request that `writes` runs in the
    unit of work (the change, its audit events and outbox rows commit together and its
    effects follow the commit), whose audit log knows the request's `source` (the
    provisioning log's IdP and operation); a GET changes nothing and reads outside a
    transaction."""
    if writes:
        with uow:
            uow.audit.source = source
            yield SqlStorage(uow.session, tenant_id, actor, models, max_filter_terms)
    else:
        with uow.reading() as session:
            yield SqlStorage(session, tenant_id, actor, models, max_filter_terms)


class SqlStorage(ScimStorage):
    supports_cursors = True

    def __init__(
        self,
        session: Session,
        tenant_id: str,
        actor: str,
        models: dict[str, type[Resource[Any]]],
        max_filter_terms: int | None = None,
    ) -> None:
        self.session = session
        self.max_filter_terms = max_filter_terms
        self.tenant_id = tenant_id
        self.actor = actor
        self.models = models
        self.dialect = session.get_bind().dialect.name
        self.in_bulk = False

    # -- plumbing -----------------------------------------------------

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work that owns the session: the use cases behind the writes take
        it. (A read has a session of no unit, and writes nothing.)"""
        return UnitOfWork.of(self.session)

    @contextmanager
    def operation(self) -> Iterator[None]:
        # In a bulk request, a savepoint per operation: a failed operation is
        # undone on its own and the next ones still run (RFC 7644 §3.7). A single
        # request needs none: the unit of work rolls the whole request back.
        if not self.in_bulk:
            yield
            return
        with self.session.begin_nested():
            yield

    def _table(self, resource_type: ResourceType) -> Table:
        if resource_type.name == "User":
            return USERS
        if resource_type.name == "Group":
            return GROUPS
        raise NotFoundException(detail=f"no resource type {resource_type.name!r}")

    def _model(self, table: Table) -> type[Resource[Any]]:
        return self.models[table.resource_type]

    def _filter(self, table: Table) -> SqlFilter:
        return SqlFilter(self._model(table), table, self.dialect, max_terms=self.max_filter_terms)

    # -- rows to resources --------------------------------------------

    def _meta(self, table: Table, row: ScimUser | ScimGroup) -> Meta:
        return Meta(
            resource_type=table.resource_type,
            created=row.created,
            last_modified=row.last_modified,
            version=etag(row.version),
        )

    def _records(
        self,
        table: Table,
        rows: list[Any],
        with_related: bool,
        direct_groups: dict[str, list[Any]] | None = None,
    ) -> list[Record]:
        """Rows with a group's members or a user's groups, read in one go for the page
        (a user's direct groups may have come with the rows: `direct_groups`)."""
        related: dict[str, list[dict[str, Any]]] = {}
        if with_related and rows:
            ids = [row.id for row in rows]
            if table is GROUPS:
                related = self._members_of(ids)
            else:
                related = self._groups_of(
                    self._direct_groups(ids) if direct_groups is None else direct_groups
                )
        return [Record(table.resource_type, row, related.get(row.id)) for row in rows]

    def _resources(self, records: list[Record]) -> list[Resource[Any]]:
        """Records as scim2-models resources, for scim2-server's own paths (PUT, PATCH,
        the storage contract); responses to reads and creates are built by
        service.scim.render instead."""
        resources = []
        for record in records:
            table = USERS if record.resource_type == "User" else GROUPS
            document = dict(record.row.document)
            document["id"] = record.row.id
            if record.related:
                document["members" if table is GROUPS else "groups"] = record.related
            resource = self.models[record.resource_type].model_validate(document)
            resource.meta = self._meta(table, record.row)
            resources.append(resource)
        return resources

    def _users(self, rows: list[ScimUser], with_groups: bool) -> list[Resource[Any]]:
        return self._resources(self._records(USERS, rows, with_groups))

    def _groups(self, rows: list[ScimGroup], with_members: bool) -> list[Resource[Any]]:
        return self._resources(self._records(GROUPS, rows, with_members))

    def _members_of(self, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for group_id, member_id, member_type, display in self.session.execute(
            _MEMBERS_OF, {"ids": group_ids}
        ):
            entry: dict[str, Any] = {
                "value": member_id,
                "$ref": f"{member_type}s/{member_id}",
                "type": member_type,
            }
            if display:
                entry["display"] = display
            found.setdefault(group_id, []).append(entry)
        return found

    def _direct_groups(self, user_ids: list[str]) -> dict[str, list[Any]]:
        """Each user's direct groups as [id, displayName, whether it is in a group]."""
        found: dict[str, list[Any]] = {}
        for user_id, group_id, display, in_a_group in self.session.execute(
            _GROUPS_OF, {"tenant_id": self.tenant_id, "ids": user_ids}
        ):
            found.setdefault(user_id, []).append((group_id, display, in_a_group))
        return found

    def _groups_of(self, direct_groups: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
        """Direct and indirect groups of each user (RFC 7643 §4.1.2).

        The direct groups come with the users' rows or from one indexed query; then
        one query per level of nesting reads the groups those belong to. Without
        nested groups there is no such query, which is cheaper than planning a
        recursive CTE on every read.
        """
        direct: dict[str, set[str]] = {}
        names: dict[str, str] = {}
        nested: set[str] = set()
        for user_id, entries in direct_groups.items():
            for group_id, display, in_a_group in entries or ():
                direct.setdefault(user_id, set()).add(group_id)
                names[group_id] = display
                if in_a_group:
                    nested.add(group_id)
        parents: dict[str, set[str]] = {}
        frontier = nested
        seen = set(names)
        while frontier:
            found = self.session.execute(
                _GROUPS_OF, {"tenant_id": self.tenant_id, "ids": list(frontier)}
            ).all()
            frontier = set()
            for child, parent, display, in_a_group in found:
                parents.setdefault(child, set()).add(parent)
                names[parent] = display
                if parent not in seen:
                    seen.add(parent)
                    if in_a_group:
                        frontier.add(parent)
        result: dict[str, list[dict[str, Any]]] = {}
        for user_id, groups in direct.items():
            closure: set[str] = set()
            stack = [parent for group in groups for parent in parents.get(group, ())]
            while stack:
                group = stack.pop()
                if group not in closure:
                    closure.add(group)
                    stack.extend(parents.get(group, ()))
            result[user_id] = [
                {
                    "value": group,
                    "$ref": f"Groups/{group}",
                    "display": names[group],
                    "type": "direct" if group in groups else "indirect",
                }
                for group in sorted(groups | closure)
            ]
        return result

    def _load(
        self, table: Table, resource_id: str, response_parameters: ResponseParameters[Any] | None
    ) -> Resource[Any]:
        related = "groups" if table is USERS else "members"
        return self._resources(
            [self._record(table, resource_id, _wants(response_parameters, related))]
        )[0]

    def _record(self, table: Table, resource_id: str, with_related: bool) -> Record:
        if not possible_id(resource_id):
            raise NotFoundException(detail=f"{table.resource_type} {resource_id!r} not found")
        parameters = {"tenant_id": self.tenant_id, "id": resource_id}
        if table is USERS and with_related:
            found = self.session.execute(_user_with_groups(self.dialect), parameters).first()
            if found is None:
                raise NotFoundException(detail=f"User {resource_id!r} not found")
            user, groups = found
            return self._records(USERS, [user], True, {user.id: groups})[0]
        row = self.session.scalar(_BY_ID[table.resource_type], parameters)
        if row is None:
            raise NotFoundException(detail=f"{table.resource_type} {resource_id!r} not found")
        return self._records(table, [row], with_related)[0]

    # -- records: what service.scim.render turns into responses --------

    def get_record(
        self, resource_type: ResourceType, resource_id: str, *, with_related: bool
    ) -> Record:
        return self._record(self._table(resource_type), resource_id, with_related)

    def create_record(self, resource_type: ResourceType, resource: Resource[Any]) -> Record:
        table = self._table(resource_type)
        if table is USERS:
            user = scim_users.create_user(self.uow, self.tenant_id, self.actor, resource)
            # A new user is in no group yet: nothing to read back.
            return Record(USERS.resource_type, user)
        group = scim_groups.create_group(self.uow, self.tenant_id, self.actor, resource)
        return self._records(GROUPS, [group], bool(resource.members))[0]  # type: ignore[attr-defined]

    def search_records(
        self, resource_type: ResourceType, search_request: SearchRequest[Any], *, with_related: bool
    ) -> tuple[int, list[Record]]:
        """One resource type paged by startIndex (no cursor, a count other than 0)."""
        return self._index_rows(self._table(resource_type), search_request, with_related)

    # -- ScimStorage --------------------------------------------------

    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        return self._load(self._table(resource_type), resource_id, response_parameters)

    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        return self._resources([self.create_record(resource_type, resource)])[0]

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        table = self._table(resource_type)
        if resource.id is None:
            raise NotFoundException(detail="the resource has no id")
        if table is USERS:
            scim_users.replace_user(
                self.uow, self.tenant_id, self.actor, resource, expected_version
            )
        else:
            scim_groups.replace_group(
                self.uow, self.tenant_id, self.actor, resource, expected_version
            )
        return self._load(table, resource.id, None)

    def delete(
        self, resource_type: ResourceType, resource_id: str, *, expected_version: str | None = None
    ) -> None:
        table = self._table(resource_type)
        if table is USERS:
            scim_users.delete_user(
                self.uow, self.tenant_id, self.actor, resource_id, expected_version
            )
        else:
            scim_groups.delete_group(
                self.uow, self.tenant_id, self.actor, resource_id, expected_version
            )

    def unchanged(self, resource_type: ResourceType, resource: Resource[Any]) -> None:
        """A PUT or PATCH left the resource as stored (scim2-server does not call
        `update`): the provisioning log says so, and a user who stays inactive is
        deprovisioned again, so that an IdP's retry of a deactivation applies what the
        first attempt could not."""
        if resource.id is None:
            return
        if self._table(resource_type) is USERS:
            scim_users.user_unchanged(self.uow, self.tenant_id, self.actor, resource.id)
        else:
            scim_groups.group_unchanged(self.uow, self.tenant_id, self.actor, resource.id)

    def change_members(
        self,
        group_id: str,
        add: dict[str, str | None],
        remove: list[str],
        expected_version: str | None = None,
    ) -> list[str]:
        """Add and remove direct members; returns the added ids skipped because they
        name no user or group of the tenant."""
        return scim_groups.change_members(
            self.uow, self.tenant_id, self.actor, group_id, add, remove, expected_version
        ).skipped

    def current_version(self, resource_type: ResourceType, resource_id: str) -> str:
        table = self._table(resource_type)
        if not possible_id(resource_id):
            raise NotFoundException(detail=f"{table.resource_type} {resource_id!r} not found")
        version = self.session.scalar(
            select(table.orm.version).where(
                table.orm.tenant_id == self.tenant_id, table.orm.id == resource_id
            )
        )
        if version is None:
            raise NotFoundException(detail=f"{table.resource_type} {resource_id!r} not found")
        return etag(version)

    # -- search -------------------------------------------------------
    #
    # A search is one SQL query over (id, resource type, sort value): a plain
    # SELECT for one resource type, a UNION ALL at the root. Pages are cut from
    # it in SQL (OFFSET for startIndex, a keyset for cursors), then the page's
    # rows are loaded by id.

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        tables = list(dict.fromkeys(self._table(rt) for rt in resource_types))
        if len(tables) == 1 and search_request.cursor is None and search_request.count != 0:
            return self._index_page(tables[0], search_request)
        keys = self._keys(tables, search_request)
        total = self.session.scalar(select(func.count()).select_from(keys)) or 0
        count = search_request.count
        if count == 0:
            return SearchPage(total, [])
        descending = (
            search_request.sort_by is not None
            and search_request.sort_order == SearchRequest.SortOrder.descending
        )
        if search_request.cursor is None:
            start = min((search_request.start_index or 1) - 1, _LAST_OFFSET)
            query = select(keys.c.id, keys.c.kind, keys.c.s).order_by(*_order(keys, descending))
            query = query.offset(start)
            if count is not None:
                query = query.limit(count)
            rows = list(self.session.execute(query))
            return SearchPage(total, self._page(tables, rows, search_request))
        return self._cursor_page(tables, keys, descending, count, position, total, search_request)

    def _index_page(self, table: Table, search_request: SearchRequest[Any]) -> SearchPage:
        """One resource type paged by startIndex: the rows and the total in one query."""
        parameters = ResponseParameters(
            attributes=search_request.attributes,
            excluded_attributes=search_request.excluded_attributes,
        )
        related = "groups" if table is USERS else "members"
        total, records = self._index_rows(table, search_request, _wants(parameters, related))
        return SearchPage(total, self._resources(records))

    def _index_rows(
        self, table: Table, search_request: SearchRequest[Any], with_related: bool
    ) -> tuple[int, list[Record]]:
        """A page by startIndex: its rows, the total (a window count) and, for users,
        their direct groups, all in one query."""
        condition = None
        if search_request.filter is not None:
            condition = self._filter(table).compile(search_request.filter)
        descending = search_request.sort_order == SearchRequest.SortOrder.descending
        with_groups = with_related and table is USERS
        statement = _page_statement(
            table,
            self.dialect,
            condition,
            self._model(table),
            with_groups=with_groups,
            sort_by=str(search_request.sort_by) if search_request.sort_by is not None else None,
            descending=descending and search_request.sort_by is not None,
            limited=search_request.count is not None,
        )
        start = min((search_request.start_index or 1) - 1, _LAST_OFFSET)
        parameters = {"tenant_id": self.tenant_id, "offset": start, "limit": search_request.count}
        rows = list(self.session.execute(statement, parameters))
        if rows:
            total = rows[0].total
        elif start == 0:
            total = 0
        else:
            # Past the last page the window has no row to carry the total.
            where = table.orm.tenant_id == self.tenant_id
            if condition is not None:
                where = and_(where, condition)
            total = self.session.scalar(select(func.count()).select_from(table.orm).where(where))
        groups = {row.id: row.direct_groups for row in rows} if with_groups else None
        return total or 0, self._records(table, rows, with_related, groups)

    def _keys(self, tables: list[Table], search_request: SearchRequest[Any]) -> Any:
        selects = []
        for index, table in enumerate(tables):
            if search_request.sort_by is None:
                sort: Any = literal(None, String())
            else:
                sort, _ = sort_expression(
                    self._model(table), table, self.dialect, str(search_request.sort_by)
                )
            query = select(
                table.orm.id.label("id"), literal(index).label("kind"), sort.label("s")
            ).where(table.orm.tenant_id == self.tenant_id)
            if search_request.filter is not None:
                query = query.where(self._filter(table).compile(str(search_request.filter)))
            selects.append(query)
        combined = selects[0] if len(selects) == 1 else union_all(*selects)
        return combined.subquery("found")

    def _page(
        self, tables: list[Table], rows: list[Any], search_request: SearchRequest[Any]
    ) -> list[Resource[Any]]:
        parameters = ResponseParameters(
            attributes=search_request.attributes,
            excluded_attributes=search_request.excluded_attributes,
        )
        built: dict[tuple[int, str], Resource[Any]] = {}
        for index, table in enumerate(tables):
            ids = [row.id for row in rows if row.kind == index]
            if not ids:
                continue
            loaded = list(
                self.session.scalars(
                    select(table.orm).where(
                        table.orm.tenant_id == self.tenant_id, table.orm.id.in_(ids)
                    )
                )
            )
            if table is USERS:
                resources = self._users(loaded, _wants(parameters, "groups"))
            else:
                resources = self._groups(loaded, _wants(parameters, "members"))
            for resource in resources:
                built[(index, cast(str, resource.id))] = resource
        return [built[(row.kind, row.id)] for row in rows if (row.kind, row.id) in built]

    # -- cursors (RFC 9865): keyset pages on (value missing, value, id) --

    def _cursor_page(
        self,
        tables: list[Table],
        keys: Any,
        descending: bool,
        count: int | None,
        position: Any,
        total: int,
        search_request: SearchRequest[Any],
    ) -> SearchPage:
        direction, anchor = ("next", None) if position is None else _read_position(position)
        # Walking backwards is walking forwards in the opposite order.
        forward = direction == "next"
        walk_descending = descending if forward else not descending
        query = select(keys.c.id, keys.c.kind, keys.c.s)
        if anchor is not None:
            query = query.where(_after(keys, anchor, walk_descending))
        query = query.order_by(*_order(keys, walk_descending))
        if count is not None:
            query = query.limit(count + 1)
        rows = list(self.session.execute(query))
        more = count is not None and len(rows) > count
        rows = rows[:count] if count is not None else rows
        if not forward:
            rows.reverse()
        page = SearchPage(total, self._page(tables, rows, search_request))
        if not rows:
            return page
        first, last = _key(rows[0]), _key(rows[-1])
        if forward:
            has_next = more
            has_previous = anchor is not None and self._beyond(keys, first, not descending)
        else:
            has_previous = more
            has_next = self._beyond(keys, last, descending)
        if has_next:
            page.next = _position("next", last)
        if has_previous:
            page.previous = _position("previous", first)
        return page

    def _beyond(self, keys: Any, anchor: tuple[bool, Any, str], descending: bool) -> bool:
        """Whether a row follows the anchor when walking in the given order."""
        probe = select(keys.c.id).where(_after(keys, anchor, descending)).limit(1)
        return self.session.scalar(probe) is not None


def _order(keys: Any, descending: bool) -> list[Any]:
    columns = [keys.c.s.is_(None), keys.c.s, keys.c.id]
    return [c.desc() if descending else c.asc() for c in columns]


def _after(keys: Any, anchor: tuple[bool, Any, str], descending: bool) -> Any:
    """Rows strictly after the anchor, in ascending or descending key order."""
    missing, value, identifier = anchor
    sort, ident = keys.c.s, keys.c.id
    later_id = ident < identifier if descending else ident > identifier
    if not descending:
        if missing:
            return and_(sort.is_(None), later_id)
        return or_(sort.is_(None), sort > value, and_(sort == value, later_id))
    if missing:
        return or_(sort.is_not(None), and_(sort.is_(None), later_id))
    return and_(sort.is_not(None), or_(sort < value, and_(sort == value, later_id)))


def _key(row: Any) -> tuple[bool, Any, str]:
    return row.s is None, row.s, row.id


def _position(direction: str, key: tuple[bool, Any, str]) -> dict[str, Any]:
    missing, value, identifier = key
    if isinstance(value, datetime):
        value = {"datetime": value.isoformat()}
    return {"d": direction, "k": None if missing else value, "i": identifier}


def _read_position(position: Any) -> tuple[str, tuple[bool, Any, str]]:
    try:
        direction, value, identifier = position["d"], position["k"], position["i"]
    except (TypeError, KeyError):
        raise InvalidCursorException from None
    if direction not in ("next", "previous") or not isinstance(identifier, str):
        raise InvalidCursorException
    if isinstance(value, dict):
        try:
            value = datetime.fromisoformat(value["datetime"])
        except (KeyError, TypeError, ValueError):
            raise InvalidCursorException from None
    return direction, (value is None, value, identifier)
