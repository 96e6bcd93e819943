"""The datasets plugin's logic: create, read, change and delete datasets and dictionaries.

Functions take the actor and plain (validated) data, raise fairhub errors and leave committing
to the caller, so that a change and the events it emits commit together.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from fairhub import (
    Actor,
    ApiError,
    before_commit,
    Conflict,
    Event,
    NotFound,
    PreconditionFailed,
    ValidationError,
    db,
    emit,
    DirectSelect,
    flush_unique,
    in_values,
    insert_many,
    read_connection,
    reserve_ids,
    utcnow,
)

from . import access, cache
from .documents import (
    Encoded,
    NewDataset,
    answer,
    assemble,
    clean_catalogue,
    dictionary_name,
    document,
    encode,
)
from .models import CODE_LENGTH, Dataset, DatasetCount, Dictionary, Grant
from .schemas import check_dictionary

# Reading

def _page(condition: Any, total: Any) -> Select:
    """One page of the datasets ``condition`` lets through (ids and versions: the documents
    come from :func:`_documents`), with their approvers, and in every row the ``total`` of
    them: one statement, and one snapshot for page and total.

    The page's size and start are written into the statement: PostgreSQL plans a statement
    with a bound LIMIT and OFFSET afresh at every execution, which costs more than running it.
    """
    page = (select(Dataset.id, Dataset.version).where(condition, or_(
        access.VISIBILITY.is_(None), Dataset.visibility == access.VISIBILITY))
        .order_by(Dataset.id).limit(bindparam("limit", type_=Integer, literal_execute=True))
        .offset(bindparam("offset", type_=Integer, literal_execute=True)).subquery("page"))
    return (access.with_approvers(select(page.c.id, page.c.version, total.label("total")),
                                  page.c.id)
            .order_by(page.c.id, access.APPROVER_ORDER))


def _one(condition: Any, *columns: Any) -> Select:
    """The dataset ``condition`` names (its id, version and ``columns``), with its approvers."""
    return (access.with_approvers(select(Dataset.id, Dataset.version, *columns)
                                  .where(condition), Dataset.id)
            .order_by(access.APPROVER_ORDER))


_PAGE = {kind: DirectSelect(_page(condition, access.TOTALS[kind]))
         for kind, condition in access.FILTERS.items()}
_READ = {kind: DirectSelect(_one(and_(Dataset.code == bindparam("code"), condition)))
         for kind, condition in access.FILTERS.items()}
_BY_ID = _one(Dataset.id == bindparam("id"), Dataset.document)


def list_datasets(actor: Actor, args: dict) -> str:
    """One page of the datasets ``actor`` may see, with their approvers, as JSON text."""
    page, size, visibility = args["page"], args["page_size"], args.get("visibility")
    kind = access.audience(actor)
    rows = _PAGE[kind].all(access.params(
        actor, visibility=visibility, limit=size, offset=(page - 1) * size))
    gathered = access.gather_approvers(rows)
    documents = _documents(actor, kind, [row for row, _ in gathered])
    items = ",".join(answer(documents[row.id][1], approvers)
                     for row, approvers in gathered if row.id in documents)
    # A page past the end has no rows to carry the total.
    total = rows[0].total if rows else access.visible_count(actor, visibility)
    return (f'{{"items": [{items}], '
            f'"paging": {{"total": {total:d}, "page": {page:d}, "page_size": {size:d}}}}}')


def read_dataset(actor: Actor, code: str) -> tuple[str, str]:
    """The GET answer for dataset ``code`` as JSON text, and its ETag (404 if unseen)."""
    kind = access.audience(actor)
    rows = _READ[kind].all(access.params(actor, code=code))
    if rows:
        ((row, approvers),) = access.gather_approvers(rows)
        found = _documents(actor, kind, [row]).get(row.id)
        if found is not None:  # else deleted or hidden from the caller a moment ago
            version, text = found
            return answer(text, approvers), _tag(row.id, version)
    raise NotFound(f"Dataset {code!r} does not exist.")


def _documents(actor: Actor, kind: str, rows: list) -> dict[int, tuple[int, str]]:
    """The versions and stored documents of ``rows`` (ids and versions ``actor`` may see, as
    the :data:`access.FILTERS` of ``kind`` let through), by id.

    The worker's cache (:mod:`.cache`) gives those it keeps at the rows' versions. The rest
    are read in one statement, through the same filter: a dataset changed since the rows were
    read comes at its new version, and one deleted or hidden from ``actor`` meanwhile not at
    all.
    """
    kept = cache.documents()
    found: dict[int, tuple[int, str]] = {}
    missing = []
    for row in rows:
        text = kept.get(row.id, row.version)
        if text is None:
            missing.append(row.id)
        else:
            found[row.id] = (row.version, text)
    if missing:
        connection = read_connection()
        statement = select(Dataset.id, Dataset.version, Dataset.document).where(
            in_values(connection, Dataset.id, missing), access.FILTERS[kind])
        for row in connection.execute(statement, access.params(actor)):
            kept.put(row.id, row.version, row.document)
            found[row.id] = (row.version, row.document)
    return found


def answer_by_id(dataset_id: int) -> tuple[str, str]:
    """:func:`read_dataset`'s answer for a dataset just written (read in the session)."""
    rows = db.session.connection().execute(_BY_ID, {"id": dataset_id}).all()
    ((row, approvers),) = access.gather_approvers(rows)
    return answer(row.document, approvers), _tag(row.id, row.version)


def render(dataset: Dataset) -> None:
    """Store the dataset's document, after writing its changes (ids and times are set)."""
    _flush()
    dataset.document = document(dataset, dataset.dictionaries)
    _flush()


def get_dataset(actor: Actor, code: str) -> Dataset:
    """The dataset ``code`` if ``actor`` may see it (else 404: its existence is not told),
    with its dictionaries, for changing it."""
    query = (select(Dataset).where(Dataset.code == code, access.visible(actor))
             .options(selectinload(Dataset.dictionaries)))
    dataset = db.session.scalar(query, access.params(actor))
    if dataset is None:
        raise NotFound(f"Dataset {code!r} does not exist.")
    return dataset


def etag(dataset: Dataset) -> str:
    """The dataset's entity tag: changes with every change to it, its dictionaries or grants."""
    return _tag(dataset.id, dataset.version)


def _tag(dataset_id: int, version: int) -> str:
    return f"{dataset_id}.{version}"


def check_etag(dataset: Dataset, if_match: Any) -> None:
    """Refuse a change made from an outdated copy (``If-Match`` naming another version).

    ``if_match`` is the request's werkzeug ``ETags``; empty when the header is absent.
    """
    if if_match and not if_match.contains(etag(dataset)):
        raise PreconditionFailed(
            f"Dataset {dataset.code!r} changed since you read it; read it again and reapply "
            "your change.", details={"etag": etag(dataset)})


# Codes


def slug(text: str, start_with_letter: bool = False) -> str:
    """A code made from ``text``: ASCII letters, digits and underscores."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    code = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:CODE_LENGTH - 8]
    code = code or "dataset"
    return f"t_{code}" if start_with_letter and code[0].isdigit() else code


def _free_code(model: type, base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever neither ``taken`` nor the table has."""
    pattern = select(model.code).where(model.code.like(base.replace("_", "\\_") + "%",
                                                       escape="\\"))
    used = taken | set(db.session.scalars(pattern))
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


# Writing


def create_dataset(actor: Actor, data: dict) -> int:
    """Create a dataset with its dictionaries; the creator becomes its first owner."""
    try:
        (result,) = create_datasets(actor, [data])
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_RACED) from None
    if isinstance(result, ApiError):
        raise result
    return result


def create_datasets(actor: Actor, items: list[dict], owner_id: int | None = None,
                    encoded: list[Encoded] | None = None,
                    taken: Taken | None = None) -> list[int | ApiError]:
    """Create many datasets in a few statements: each item's id, or what is wrong with it.

    ``encoded`` holds the items' JSON if it was written already (by import workers), and
    ``taken`` the codes the database has of those the items name, if the caller looked them
    up in this transaction (:meth:`Taken.of`). The creator (if a user) and ``owner_id``
    become owners. A race with another writer surfaces as IntegrityError for the whole batch.
    """
    encoded = encoded or [encode(item) for item in items]
    taken = taken or Taken.of(items)
    results: list[int | ApiError] = []
    plans = []
    for item, json_parts in zip(items, encoded):
        try:
            plans.append(_plan(item, json_parts, taken))
            results.append(len(plans) - 1)
        except ApiError as error:
            results.append(error)
    ids = _insert(actor, plans, owner_id) if plans else []
    return [ids[r] if isinstance(r, int) else r for r in results]


def creation_input(item: dict) -> dict:
    """What :func:`create_datasets` reads of a validated new dataset given with its JSON
    (``encoded``): the rest may be left out."""
    return {"code": item.get("code"), "name": item.get("name"),
            "visibility": item["visibility"], "workflow_key": item.get("workflow_key"),
            "catalogue": {"title": item["catalogue"]["title"]},
            "dictionaries": [{key: d.get(key) for key in ("code", "name", "description")}
                             for d in item.get("dictionaries", ())]}


@dataclass
class Taken:
    """Codes already used, in the database or earlier in the same batch."""

    datasets: set[str]
    dictionaries: set[str]

    @classmethod
    def of(cls, items: list[dict]) -> Taken:
        """The dataset and dictionary codes named by ``items`` that the database has."""
        return cls(datasets=taken_codes(Dataset, [item.get("code") for item in items]),
                   dictionaries=taken_codes(Dictionary, [
                       d.get("code") for item in items for d in item.get("dictionaries", ())]))


def taken_codes(model: type, codes: list[str | None]) -> set[str]:
    """Which of ``codes`` the table ``model`` already has."""
    wanted = {code for code in codes if code}
    if not wanted:
        return set()
    return set(db.session.scalars(select(model.code).where(
        in_values(db.session.connection(), model.code, wanted))))


def _plan(item: dict, json_parts: Encoded, taken: Taken) -> dict:
    """The rows of one new dataset, once its codes are known to be free."""
    title = item["catalogue"]["title"]
    code = item.get("code") or _free_code(Dataset, slug(title), taken.datasets)
    if code in taken.datasets:
        raise Conflict(f"Dataset {code!r} already exists.", details={"code": code})
    dictionaries = []
    try:
        for dictionary in item.get("dictionaries", ()):
            dictionaries.append(_dictionary_row(dictionary, taken.dictionaries))
    except ApiError:  # an item that fails takes no code (a batch's taken codes are not copied
        # for each item: that cost a batch time growing with the square of its size)
        taken.dictionaries.difference_update(row["code"] for row in dictionaries)
        raise
    taken.datasets.add(code)
    for dictionary, (fields, lookups) in zip(dictionaries, json_parts.dictionaries):
        dictionary.update(fields=fields, lookups=lookups)
    name = item.get("name") or title
    return {"code": code, "name": name, "visibility": item["visibility"],
            "workflow_key": item.get("workflow_key"), "catalogue": json_parts.catalogue,
            "shown": json_parts.shown, "dictionaries": dictionaries,
            "subject": NewDataset(code, name, item["visibility"], json_parts, dictionaries)}


_DATASET_COLUMNS = ("id", "code", "name", "visibility", "workflow_key", "catalogue", "document")
_DICTIONARY_COLUMNS = ("id", "code", "dataset_id", "position", "name", "description", "fields",
                       "lookups")


def _insert(actor: Actor, plans: list[dict], owner_id: int | None) -> list[int]:
    """Insert planned datasets with their documents, their dictionaries and owners; emit the
    events.

    Ids are reserved first, so each table's rows go in with one statement through the driver
    and nothing is read back or written twice; JSON columns go in as the text the plans hold.
    """
    connection = db.session.connection()
    now = utcnow()
    times = {"created_at": now, "updated_at": now}
    ids = reserve_ids(connection, Dataset.__table__, len(plans))
    dictionary_ids = iter(reserve_ids(connection, Dictionary.__table__,
                                      sum(len(plan["dictionaries"]) for plan in plans)))
    datasets, dictionaries = [], []
    for dataset_id, plan in zip(ids, plans):
        children = [SimpleNamespace(id=next(dictionary_ids), dataset_id=dataset_id,
                                    position=position, **d, **times)
                    for position, d in enumerate(plan["dictionaries"])]
        dataset = SimpleNamespace(id=dataset_id, **plan, **times)
        dataset.document = assemble(dataset, plan["shown"],
                                    [(c, c.fields, c.lookups) for c in children])
        datasets.append(tuple(getattr(dataset, column) for column in _DATASET_COLUMNS))
        dictionaries += [tuple(getattr(c, column) for column in _DICTIONARY_COLUMNS)
                         for c in children]
    insert_many(connection, Dataset.__table__, _DATASET_COLUMNS, datasets,
                constants={"created_by": actor.user_id, "version": 1, **times})
    insert_many(connection, Dictionary.__table__, _DICTIONARY_COLUMNS, dictionaries,
                constants=times)
    owners = {actor.user_id, owner_id} - {None}
    insert_many(connection, Grant.__table__, ("dataset_id", "user_id"),
                [(i, user) for i in ids for user in owners],
                constants={"level": "owner", "created_at": now})
    for visibility, number in Counter(plan["visibility"] for plan in plans).items():
        count(visibility, number)
    for dataset_id, plan in zip(ids, plans):
        plan["subject"].id = dataset_id
        emit(Event("dataset", "create", target={"type": "dataset", "code": plan["code"]},
                   details={"dictionaries": [d["code"] for d in plan["dictionaries"]]},
                   subject=plan["subject"]))
    return ids


def update_dataset(actor: Actor, dataset: Dataset, data: dict, if_match: Any = None) -> Dataset:
    """Apply a differential PATCH; visibility and workflow changes need ``manage``."""
    access.require(actor, dataset, "edit")
    check_etag(dataset, if_match)
    changed = []
    for key in ("name", "visibility", "workflow_key"):
        if key in data and data[key] != getattr(dataset, key):
            if key != "name":
                access.require(actor, dataset, "manage")
            if key == "visibility":
                count(dataset.visibility, -1)
                count(data[key], 1)
            setattr(dataset, key, data[key])
            changed.append(key)
    if "catalogue" in data:
        if data["catalogue"].get("id", dataset.code) != dataset.code:
            message = "catalogue.id is the dataset's code, which does not change."
            raise ValidationError(message, details={"json": {"catalogue": {"id": [message]}}})
        catalogue = clean_catalogue({**dataset.catalogue, **data["catalogue"]})
        changed += [f"catalogue.{key}" for key in sorted(set(catalogue) | set(dataset.catalogue))
                    if catalogue.get(key) != dataset.catalogue.get(key)]
        dataset.catalogue = catalogue
    if data.get("dictionaries"):
        changed += _apply_dictionary_changes(dataset, data["dictionaries"])
    if changed:
        touch(dataset)
        emit(Event("dataset", "update", target=target(dataset), details={"changed": changed},
                   subject=dataset))
    return dataset


def delete_dataset(actor: Actor, dataset: Dataset, if_match: Any = None) -> None:
    """Delete a dataset with everything that hangs off it; listeners clean up their parts."""
    access.require(actor, dataset, "manage")
    check_etag(dataset, if_match)
    emit(Event("dataset", "delete", target=target(dataset),
               details={"dictionaries": [d.code for d in dataset.dictionaries]}))
    count(dataset.visibility, -1)
    db.session.delete(dataset)
    _flush()


def touch(dataset: Dataset) -> None:
    """Record a change to the dataset (new version, new updated_at, new document), failing
    with 412 if another request changed it meanwhile."""
    dataset.updated_at = utcnow()
    render(dataset)


def count(visibility: str, change: int) -> None:
    """Keep the number of datasets of ``visibility`` (see :class:`DatasetCount`), at the end
    of the transaction: every create and delete updates these few rows, so concurrent writers
    wait for each other only while the first commits, not for its whole transaction."""
    before_commit("dataset_counts", (visibility, change), _write_counts, last=True)


def _write_counts(session: Any, changes: list[tuple[str, int]]) -> None:
    """Apply the count changes of a transaction (:func:`count`), one UPDATE a visibility."""
    totals = Counter()
    for visibility, change in changes:
        totals[visibility] += change
    for visibility in sorted(totals):  # one order for every writer: no deadlock between two
        if totals[visibility]:
            session.execute(update(DatasetCount).where(DatasetCount.visibility == visibility)
                            .values(datasets=DatasetCount.datasets + totals[visibility]))


def target(dataset: Dataset) -> dict:
    return {"type": "dataset", "code": dataset.code}


def _flush() -> None:
    try:
        flush_unique(_RACED)
    except StaleDataError:
        db.session.rollback()
        raise PreconditionFailed("The dataset was changed by another request at the same "
                                 "time; read it again and reapply your change.") from None


_RACED = "A dataset or dictionary with one of these codes was just created by another request."


# Dictionaries


def _dictionary_row(item: dict, taken: set[str]) -> dict:
    """The columns of a new, validated dictionary, its code checked against (and added to)
    ``taken``."""
    name = dictionary_name(item)
    if not name:
        raise ValidationError("A new dictionary needs a code or a name.",
                              details={"json": {"dictionaries": ["Give a code or a name."]}})
    code = item.get("code")
    if code is None:
        code = _free_code(Dictionary, slug(name, start_with_letter=True), taken)
    elif code in taken:
        raise Conflict(f"Dictionary {code!r} already exists.", details={"code": code})
    taken.add(code)
    return {"code": code, "name": name, "description": item.get("description"),
            "fields": item.get("fields", []), "lookups": item.get("lookups", {})}


def _check(fields: list[dict], lookups: dict) -> None:
    errors = check_dictionary(fields, lookups)
    if errors:
        raise ValidationError("The dictionary's fields do not fit its lookups.",
                              details={"json": errors})


def _apply_dictionary_changes(dataset: Dataset, changes: Iterable[dict]) -> list[str]:
    """Apply PATCH ``dictionaries`` changes in order; return what changed."""
    by_id = {d.id: d for d in dataset.dictionaries}
    by_code = {d.code: d for d in dataset.dictionaries}
    changed: list[str] = []
    for index, change in enumerate(changes):
        existing = _existing(dataset, change, by_id, by_code, index)
        if change.get("toBeDeleted"):
            if existing is None:
                raise _change_error(index, "Nothing to delete: give the id or code of one of "
                                           f"the dictionaries of dataset {dataset.code!r}.")
            dataset.dictionaries.remove(existing)
            del by_id[existing.id], by_code[existing.code]
            emit(Event("dictionary", "delete", target={"type": "dictionary", "code": existing.code},
                       details={"dataset": dataset.code}))
            changed.append(f"dictionaries.{existing.code}.deleted")
        elif existing is None:
            taken = taken_codes(Dictionary, [change.get("code")])
            position = max((d.position for d in dataset.dictionaries), default=-1) + 1
            _check(change.get("fields", []), change.get("lookups", {}))
            added = Dictionary(**_dictionary_row(change, taken), position=position)
            dataset.dictionaries.append(added)
            changed.append(f"dictionaries.{added.code}.added")
        elif update_dictionary_content(existing, change):
            changed.append(f"dictionaries.{existing.code}")
    return changed


def _existing(dataset: Dataset, change: dict, by_id: dict, by_code: dict,
              index: int) -> Dictionary | None:
    """The dictionary a change names (by id, else by code), or None for a new one."""
    if "id" not in change:
        return by_code.get(change.get("code"))
    existing = by_id.get(change["id"])
    if existing is None:
        raise _change_error(index, f"Dataset {dataset.code!r} has no dictionary with id "
                                   f"{change['id']}.")
    if "code" in change and change["code"] != existing.code:
        raise _change_error(index, f"Dictionary {change['id']} is {existing.code!r}, not "
                                   f"{change['code']!r}; codes do not change.")
    return existing


def _change_error(index: int, message: str) -> ValidationError:
    return ValidationError(message, details={"json": {"dictionaries": {str(index): [message]}}})


def update_dictionary_content(dictionary: Dictionary, data: dict) -> bool:
    """Change a dictionary's name, description, and fields with lookups (new fields replace
    the old ones; lookups alone are checked against the fields kept). True if anything changed."""
    if "fields" in data:
        fields, lookups = data["fields"], data.get("lookups", {})
    else:
        fields, lookups = dictionary.fields, data.get("lookups", dictionary.lookups)
    _check(fields, lookups)
    new = {"name": data.get("name", dictionary.name), "fields": fields, "lookups": lookups,
           "description": data.get("description", dictionary.description)}
    changed = {key: value for key, value in new.items() if getattr(dictionary, key) != value}
    for key, value in changed.items():
        setattr(dictionary, key, value)
    if changed:
        dictionary.updated_at = utcnow()
    return bool(changed)


def visible_dictionaries(actor: Actor, dataset_code: str | None = None) -> Select:
    """The dictionaries of the datasets ``actor`` may see, by id."""
    query = (select(Dictionary).join(Dataset, Dataset.id == Dictionary.dataset_id)
             .where(access.visible(actor)).order_by(Dictionary.id))
    if dataset_code is not None:
        query = query.where(Dataset.code == dataset_code)
    return query


def get_dictionary(actor: Actor, code: str) -> Dictionary:
    dictionary = db.session.scalar(visible_dictionaries(actor).where(Dictionary.code == code),
                                   access.params(actor))
    if dictionary is None:
        raise NotFound(f"Dictionary {code!r} does not exist.")
    return dictionary


def _own_keys_checked(dictionary: Dictionary, data: dict) -> dict:
    """``data`` without the read-only keys a client sent back with it, which must name this
    dictionary (a client PATCHes the object it read)."""
    own = {"code": dictionary.code, "id": dictionary.id, "dataset_id": dictionary.dataset_id}
    errors = {key: [f"The body's {key} {data[key]!r} is not {value!r}, that of the "
                    f"dictionary {dictionary.code!r} in the path; it cannot be changed."]
              for key, value in own.items() if key in data and data[key] != value}
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], {"json": errors})
    read_only = (*own, "created_at", "updated_at")
    return {key: value for key, value in data.items() if key not in read_only}


def update_dictionary(actor: Actor, dictionary: Dictionary, data: dict,
                      if_match: Any = None) -> Dictionary:
    """PATCH one dictionary (needs ``edit`` on its dataset); ``if_match`` names the version
    of the dataset it belongs to."""
    dataset = dictionary.dataset
    access.require(actor, dataset, "edit")
    check_etag(dataset, if_match)
    data = _own_keys_checked(dictionary, data)
    if update_dictionary_content(dictionary, data):
        touch(dataset)
        emit(Event("dictionary", "update", target={"type": "dictionary", "code": dictionary.code},
                   details={"dataset": dataset.code, "changed": sorted(data)}))
    return dictionary
