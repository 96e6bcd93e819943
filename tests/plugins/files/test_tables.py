"""Loading CSV files into dictionaries' tables, on the database of the run (SQLite or
PostgreSQL): types, widening, errors that keep the old table, the read-only path, table names."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, select, text

from fairhub_files.tables import LoadFailed, TableStore, table_name

DATASET_EXAMPLE = Path(__file__).parents[1] / "datasets" / "examples" / "dataset-create.json"
# The contract's worked example (spec/examples/asthma_participants.csv, made-up data): columns
# in another order than the dictionary, an empty cell, a decimal in an integer column, booleans
# written three ways, a quoted number and a missing date.
ASTHMA_CSV = '''"sex","age","fev1","smoker","participant_id","enrolled_on"
"Female",34,2.91,FALSE,1,2024-03-02
"Male",51.5,3.40,TRUE,2,2024-03-05
"Female",,2.10,false,3,2024-04-11
"Male",29,"3.05",0,4,
'''
EVERY_TYPE = [
    {"name": "id", "type": "integer"}, {"name": "name", "type": "text"},
    {"name": "score", "type": "decimal"}, {"name": "ok", "type": "boolean"},
    {"name": "born", "type": "date"}, {"name": "seen", "type": "datetime"},
    {"name": "at", "type": "time"},
]
AGES = [{"name": "id", "type": "integer"}, {"name": "age", "type": "integer"}]


@pytest.fixture
def fairhub_plugins():
    """A table store needs no plugin: these tests build it from a bare app."""
    return []


@pytest.fixture
def make_store(make_app, database_url, fairhub_backend):
    """``make_store(**settings)``: a TableStore of a new app, with a PostgreSQL schema of this
    test's own (dropped at the end) and small batches, so that loads span several."""
    schema = f"tables_{uuid.uuid4().hex[:10]}"
    stores = []

    def factory(**settings):
        app = make_app({"FILES_TABLES_SCHEMA": schema, "FILES_TABLES_BATCH_ROWS": 4, **settings})
        stores.append(TableStore.from_app(app))
        return stores[-1]

    yield factory
    for store in stores:
        store.dispose()
    if fairhub_backend == "postgresql":
        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def csv_file(tmp_path):
    """``csv_file(text_or_bytes)``: the path of a new file holding it (text as UTF-8)."""
    count = iter(range(1_000_000))

    def write(content: str | bytes) -> Path:
        path = tmp_path / f"upload-{next(count)}.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


def read(store: TableStore, table: str) -> list[tuple]:
    """The table's rows in order of its first column, typed by its column types (decimals
    as floats, so both databases compare alike)."""
    engine = store.read_only_engine()
    loaded = Table(table, MetaData(), autoload_with=engine, schema=store.schema)
    with engine.connect() as connection:
        rows = connection.execute(select(loaded).order_by(list(loaded.c)[0])).all()
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


def tables_of(store: TableStore) -> set[str]:
    """Every table the store's database or schema holds (staging tables included)."""
    with store.read_only_engine().connect() as connection:
        if store.backend == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
            return set(connection.execute(text(sql)).scalars())
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"
        return set(connection.execute(text(sql), {"s": store.schema}).scalars())


def failure(store, table, fields, path, **options) -> LoadFailed:
    with pytest.raises(LoadFailed) as caught:
        store.load_csv(table, fields, path, **options)
    return caught.value


# Types


def test_every_type_loads_as_the_dictionary_says(store, csv_file):
    path = csv_file("id,name,score,ok,born,seen,at\n"
                    "1,Ada,1.5,true,1990-01-02,2024-03-02T10:11:12,08:30\n"
                    '2,"Lovelace, Ada",-2e3,FALSE,2000-02-29,2024-03-02 23:59:59.5,23:59:59\n')
    result = store.load_csv("people", EVERY_TYPE, path)
    assert (result.rows, result.missing, result.widened) == (2, [], {})
    assert result.columns == [f["name"] for f in EVERY_TYPE]
    assert store.columns("people") == {f["name"]: f["type"] for f in EVERY_TYPE}
    assert read(store, "people") == [
        (1, "Ada", 1.5, True, date(1990, 1, 2), datetime(2024, 3, 2, 10, 11, 12), time(8, 30)),
        (2, "Lovelace, Ada", -2000.0, False, date(2000, 2, 29),
         datetime(2024, 3, 2, 23, 59, 59, 500000), time(23, 59, 59)),
    ]


def test_empty_cells_are_null_in_every_column_and_spaces_in_text_are_kept(store, csv_file):
    path = csv_file('id,name,score,ok,born,seen,at\n1,,,,,,\n2," ",  , , ,\t, \n'
                    '3, padded , 4.5 , true , 2024-01-02 , 2024-01-02 10:00 , 10:00 \n')
    store.load_csv("people", EVERY_TYPE, path)
    assert read(store, "people") == [
        (1, None, None, None, None, None, None),
        (2, " ", None, None, None, None, None),
        (3, " padded ", 4.5, True, date(2024, 1, 2), datetime(2024, 1, 2, 10), time(10)),
    ]


@pytest.mark.parametrize("written, loaded", [
    ("TRUE", True), ("FALSE", False), ("true", True), ("false", False), ("1", True),
    ("0", False), ("True", True), ("fAlSe", False),
])
def test_booleans_are_true_false_1_0_in_any_case(store, csv_file, written, loaded):
    fields = [{"name": "id", "type": "integer"}, {"name": "ok", "type": "boolean"}]
    store.load_csv("flags", fields, csv_file(f"id,ok\n1,{written}\n"))
    assert read(store, "flags") == [(1, loaded)]


def test_a_date_time_with_an_offset_is_stored_in_utc(store, csv_file):
    fields = [{"name": "id", "type": "integer"}, {"name": "seen", "type": "datetime"}]
    store.load_csv("times", fields, csv_file(
        "id,seen\n1,2024-03-02T10:00:00+02:00\n2,2024-03-02T10:00:00Z\n3,2024-03-02\n"))
    assert read(store, "times") == [(1, datetime(2024, 3, 2, 8)), (2, datetime(2024, 3, 2, 10)),
                                    (3, datetime(2024, 3, 2))]


def test_postgresql_keeps_every_digit_of_a_decimal(store, csv_file):
    if store.backend != "postgresql":
        pytest.skip("SQLite keeps decimals as 64-bit floats")
    fields = [{"name": "id", "type": "integer"}, {"name": "x", "type": "decimal"}]
    store.load_csv("exact", fields, csv_file("id,x\n1,3.40\n2,12345678901234567890.123456789\n"))
    with store.read_only_engine().connect() as connection:
        values = connection.execute(text(f"SELECT x FROM {store.quoted('exact')} ORDER BY id"))
        assert list(values.scalars()) == [Decimal("3.40"),
                                          Decimal("12345678901234567890.123456789")]


# Widening


def test_a_decimal_widens_an_integer_column_and_says_so(store, csv_file):
    result = store.load_csv("ages", AGES, csv_file("id,age\n1,34\n2,51.5\n3,29\n"))
    assert result.widened == {"age": "decimal"}
    assert store.columns("ages") == {"id": "integer", "age": "decimal"}
    assert read(store, "ages") == [(1, 34.0), (2, 51.5), (3, 29.0)]


def test_widening_found_late_keeps_the_rows_already_written(store, csv_file):
    fields = [{"name": "id", "type": "integer"}, {"name": "n", "type": "integer"},
              {"name": "day", "type": "date"}]
    lines = ["id,n,day"]
    for row in range(1, 2001):
        n = "7.25" if row == 1800 else str(row)
        day = "2024-01-02T03:04:05" if row == 1900 else "2024-01-01"
        lines.append(f"{row},{n},{day}")
    seen = []
    result = store.load_csv("late", fields, csv_file("\n".join(lines) + "\n"), seen.append)
    assert result.rows == 2000
    assert result.widened == {"n": "decimal", "day": "datetime"}
    assert store.columns("late") == {"id": "integer", "n": "decimal", "day": "datetime"}
    rows = read(store, "late")
    assert rows[0] == (1, 1.0, datetime(2024, 1, 1))
    assert rows[1799] == (1800, 7.25, datetime(2024, 1, 1))
    assert rows[1899] == (1900, 1900.0, datetime(2024, 1, 2, 3, 4, 5))
    assert len(rows) == 2000
    assert seen == sorted(seen) and seen[-1] == 2000 and len(seen) == 500  # batches of 4


def test_an_integer_beyond_64_bits_widens_to_decimal(store, csv_file):
    result = store.load_csv("ages", AGES, csv_file("id,age\n1,5\n2,9223372036854775808\n"))
    assert result.widened == {"age": "decimal"}
    assert read(store, "ages")[1] == (2, 9223372036854775808.0)


# Lookups


TYPED_LOOKUPS = {
    "n": [{"name": 1}, {"name": "2"}],
    "x": {"type": "decimal", "options": [{"name": "2.5"}, {"name": 3}, {"name": 0.1}]},
    "d": {"type": "date", "options": [{"name": "2024-03-02"}]},
    "t": {"type": "datetime", "options": [{"name": "2024-03-02T10:00:00+01:00"}]},
    "h": {"type": "time", "options": [{"name": "08:30"}]},
    "s": {"type": "text", "options": [{"name": "F"}, {"name": "M"}]},
}
TYPED_FIELDS = [{"name": "id", "type": "integer"}] + [
    {"name": name, "type": kind, "constraints": name} for name, kind in (
        ("n", "integer"), ("x", "decimal"), ("d", "date"), ("t", "datetime"), ("h", "time"),
        ("s", "text"))]


def test_lookup_options_match_values_as_their_column_types_them(store, csv_file):
    # Every cell here is an option, written another way, or NULL.
    path = csv_file("id,n,x,d,t,h,s\n"
                    "1,1,2.5,2024-03-02,2024-03-02 09:00:00,08:30,F\n"
                    "2,01,2.50,2024-03-02,2024-03-02T09:00,08:30:00,M\n"
                    "3, +2 ,3.0,,2024-03-02T10:00:00+01:00, ,\n"
                    "4,2,0.1,2024-03-02,2024-03-02T09:00:00Z,08:30:00.000,F\n")
    result = store.load_csv("typed", TYPED_FIELDS, path, lookups=TYPED_LOOKUPS)
    assert (result.rows, result.outside_lookups) == (4, {})
    path = csv_file("id,n,x,d,t,h,s\n"
                    "1,3,2.4,2024-03-03,2024-03-02T10:00:00Z,08:31,f\n"
                    "2,2,3e0,2024-03-02, ,08:30, F\n")
    result = store.load_csv("typed", TYPED_FIELDS, path, lookups=TYPED_LOOKUPS)
    outside = {column: [v["value"] for v in found["values"]]
               for column, found in result.outside_lookups.items()}
    assert outside == {"n": ["3"], "x": ["2.4"], "d": ["2024-03-03"],
                       "t": ["2024-03-02T10:00:00Z"], "h": ["08:31"], "s": ["f", " F"]}
    assert result.rows == 2 and read(store, "typed")[0][1] == 3  # reported, and loaded


def test_a_column_widened_from_integer_compares_its_decimals(store, csv_file):
    fields = [{"name": "id", "type": "integer"},
              {"name": "n", "type": "integer", "constraints": "N"}]
    result = store.load_csv("wide", fields, csv_file("id,n\n1,1\n2,1.0\n3,1.5\n"),
                            lookups={"N": [{"name": 1}]})
    assert result.widened == {"n": "decimal"}
    assert result.outside_lookups["n"]["values"] == [
        {"value": "1.5", "count": 1, "rows": [3], "lines": [4]}]


def test_values_outside_a_lookup_are_reported_within_bounds(store, csv_file):
    fields = [{"name": "id", "type": "integer"},
              {"name": "sex", "type": "text", "constraints": "SEX"},
              {"name": "note", "type": "text"}]
    lines = ["id,note,sex", '0,"two\nlines",F']  # the header in another order
    for row in range(1, 301):
        lines.append(f"{row},x,{'M' if row % 2 else f'v{row % 15}'}")
    result = store.load_csv("people", fields, csv_file("\n".join(lines) + "\n"),
                            lookups={"SEX": {"type": "text", "options": [
                                {"name": "F"}, {"name": "M"}]}})
    assert result.rows == 301  # loaded as they are
    found = result.outside_lookups["sex"]
    assert (found["lookup"], found["count"], found["more_values"]) == ("SEX", 150, True)
    assert [v["value"] for v in found["values"]] == [
        "v2", "v4", "v6", "v8", "v10", "v12", "v14", "v1", "v3", "v5"]
    first = found["values"][0]
    # Data row n + 1 holds id n; the first data row spans two lines, so row r is on line r + 2.
    assert first["count"] == 10 and first["rows"] == list(range(3, 301, 30))
    assert first["lines"] == [row + 2 for row in first["rows"]]
    assert all(len(v["rows"]) <= 10 and v["count"] == 10 for v in found["values"])


def test_strict_lookups_fail_at_the_first_value_outside_and_keep_the_table(store, csv_file):
    fields = TYPED_FIELDS[:2] + [{"name": "s", "type": "text", "constraints": "s"}]
    strict = {"lookups": TYPED_LOOKUPS, "strict_lookups": True}
    store.load_csv("strict", fields, csv_file("id,n,s\n1,1,F\n"), **strict)
    before = tables_of(store)
    path = csv_file('id,s,n\n1,F,1\n2,"M",02\n3,"x\ny",1\n4,Other,7\n5,Z,1\n')
    failed = failure(store, "strict", fields, path, **strict)
    assert (failed.row, failed.line, failed.column, failed.value) == (3, 4, "s", "x\ny")
    assert failed.message == ("Row 3 (line 4 of the file), column 's': 'x\\ny' is not an "
                              "option of the lookup 's' ('F', 'M').")
    assert read(store, "strict") == [(1, 1, "F")]
    assert tables_of(store) == before
    # Across batches (of 4 rows here) and columns, the first row in the file fails.
    path = csv_file("id,n,s\n" + "".join(f"{i},1,F\n" for i in range(1, 7)) + "7,9,Q\n")
    failed = failure(store, "strict", fields, path, **strict)
    assert (failed.row, failed.column, failed.value) == (7, "n", "9")
    assert read(store, "strict") == [(1, 1, "F")]


# Failures that leave the previous table as it was


def test_text_in_an_integer_column_fails_naming_row_column_and_value(store, csv_file):
    store.load_csv("ages", AGES, csv_file("id,age\n1,34\n2,40\n"))
    before = tables_of(store)
    # Row 1 would widen the column: the failed load must not change the old table's types.
    failed = failure(store, "ages", AGES, csv_file("id,age\n7,7.5\n8,80\n9,abc\n"))
    assert (failed.row, failed.line, failed.column, failed.value) == (3, 4, "age", "abc")
    # The column had widened to decimal by row 3.
    assert failed.message == "Row 3 (line 4 of the file), column 'age': 'abc' is not a number."
    assert read(store, "ages") == [(1, 34), (2, 40)]
    assert store.columns("ages") == {"id": "integer", "age": "integer"}
    assert tables_of(store) == before  # no staging table is left behind


@pytest.mark.parametrize("kind, value, expected", [
    ("integer", "1_000", "an integer"), ("integer", "١٢", "an integer"),
    ("integer", "12abc", "an integer"), ("decimal", "NaN", "a number"),
    ("decimal", "inf", "a number"), ("decimal", "1,5", "a number"),
    ("boolean", "yes", "a boolean"), ("date", "2024-02-30", "a date"),
    ("date", "02/03/2024", "a date"), ("date", "2024-W10-1", "a date"),
    ("datetime", "yesterday", "a date and time"), ("datetime", "2024-W10-1", "a date and time"),
    ("datetime", "20240302T101112", "a date and time"), ("time", "25:00", "a time of day"),
    ("time", "10:00+01:00", "a time of day"),
])
def test_a_value_that_fits_no_type_fails(store, csv_file, kind, value, expected):
    fields = [{"name": "id", "type": "integer"}, {"name": "v", "type": kind}]
    failed = failure(store, "values", fields, csv_file(f'id,v\n1,"{value}"\n'))
    assert (failed.row, failed.column, failed.value) == (1, "v", value)
    assert failed.message.startswith(f"Row 1 (line 2 of the file), column 'v': {value!r} "
                                      f"is not {expected}")
    assert store.columns("values") is None


def test_a_long_value_is_shortened_in_the_error(store, csv_file):
    failed = failure(store, "ages", AGES, csv_file(f"id,age\n1,{'x' * 5000}\n"))
    assert failed.value == "x" * 100 + "..."
    assert len(failed.message) < 300


def test_a_nul_character_in_text_fails(store, csv_file):
    fields = [{"name": "id", "type": "integer"}, {"name": "t", "type": "text"}]
    failed = failure(store, "texts", fields, csv_file("id,t\n1,ok\n2,a\x00b\n"))
    assert (failed.row, failed.column) == (2, "t") and "NUL" in failed.message


def test_a_file_that_is_not_utf8_fails_with_its_line(store, csv_file):
    fields = [{"name": "id", "type": "integer"}, {"name": "t", "type": "text"}]
    store.load_csv("texts", fields, csv_file("id,t\n1,café\n"))
    failed = failure(store, "texts", fields, csv_file("id,t\n1,ok\n2,caf\xe9\n".encode("latin-1")))
    assert "UTF-8" in failed.message and failed.line == 3 and "line 3" in failed.message
    assert read(store, "texts") == [(1, "café")]


@pytest.mark.parametrize("content, row, line, cells", [
    ("id,t\n1,a\n2,b,c\n", 2, 3, 3),
    ("id,t\n1,a\n2\n", 2, 3, 1),
    ('id,t\n1,"two\nlines"\n\n3,4,5\n', 2, 5, 3),  # a blank line is skipped, not counted
])
def test_a_row_with_more_or_fewer_cells_fails_with_its_row(store, csv_file, content, row, line,
                                                           cells):
    fields = [{"name": "id", "type": "integer"}, {"name": "t", "type": "text"}]
    failed = failure(store, "texts", fields, csv_file(content))
    assert (failed.row, failed.line) == (row, line)
    assert failed.message == (f"Row {row} (line {line} of the file) has {cells} cells; "
                              "the header has 2.")


def test_broken_quoting_fails_with_its_line(store, csv_file):
    failed = failure(store, "ages", AGES, csv_file('id,age\n1,2\n2,"3"x\n'))
    assert failed.line == 3 and "not valid CSV" in failed.message


# The header


def test_the_header_matches_fields_in_any_order_and_case(store, csv_file):
    result = store.load_csv("people", EVERY_TYPE, csv_file(" SCORE ,Name,id\n2.5,Bo,1\n"))
    assert result.missing == ["ok", "born", "seen", "at"]
    assert result.columns == [f["name"] for f in EVERY_TYPE]
    assert read(store, "people") == [(1, "Bo", 2.5, None, None, None, None)]


def test_a_column_the_dictionary_does_not_define_fails_naming_it(store, csv_file):
    failed = failure(store, "ages", AGES, csv_file("id,age,weight,height\n1,2,3,4\n"))
    assert failed.column == "weight" and failed.row is None and failed.line == 1
    assert "'weight', 'height'" in failed.message and "'id', 'age'" in failed.message


@pytest.mark.parametrize("header, message", [
    ("id,age,id", "The header names column 'id' twice."),
    ("id,age,AGE", "The header names column 'age' twice."),
    ("id,,age", "Column 2 of the header has no name."),
])
def test_a_header_naming_a_column_twice_or_not_at_all_fails(store, csv_file, header, message):
    assert failure(store, "ages", AGES, csv_file(f"{header}\n")).message == message


@pytest.mark.parametrize("content", ["", "\ufeff", "\n\n"])
def test_an_empty_file_fails_clearly(store, csv_file, content):
    failed = failure(store, "ages", AGES, csv_file(content))
    assert failed.message.startswith("The file is empty")


def test_a_header_alone_loads_an_empty_table(store, csv_file):
    store.load_csv("ages", AGES, csv_file("id,age\n1,2\n"))
    result = store.load_csv("ages", AGES, csv_file("age,id\n"))
    assert (result.rows, result.missing) == (0, [])
    assert read(store, "ages") == []
    assert store.columns("ages") == {"id": "integer", "age": "integer"}


def test_a_byte_order_mark_is_skipped(store, csv_file):
    store.load_csv("ages", AGES, csv_file("\ufeffid,age\r\n1,2\r\n"))
    assert read(store, "ages") == [(1, 2)]


# CSV quoting


def test_quoted_commas_quotes_and_line_breaks_load(store, csv_file):
    fields = [{"name": "id", "type": "integer"}, {"name": "t", "type": "text"},
              {"name": "n", "type": "integer"}]
    path = csv_file('id,t,n\n1,"a, b",1\n2,"say ""hi""",2\n3,"two\nlines",3\n'
                    '4,"crlf\r\ninside","4"\n5,x,oops\n')
    failed = failure(store, "texts", fields, path)
    assert (failed.row, failed.line) == (5, 8)  # rows 3 and 4 span two lines each
    with open(path, newline="") as handle:
        fixed = handle.read().replace("oops", "5")
    store.load_csv("texts", fields, csv_file(fixed))
    assert read(store, "texts") == [(1, "a, b", 1), (2, 'say "hi"', 2), (3, "two\nlines", 3),
                                    (4, "crlf\r\ninside", 4), (5, "x", 5)]


def test_the_contract_s_example_loads(store, csv_file):
    dictionary = json.loads(DATASET_EXAMPLE.read_text())["dictionaries"][0]
    table = table_name(dictionary["code"])
    result = store.load_csv(table, dictionary["fields"], csv_file(ASTHMA_CSV))
    assert (result.rows, result.missing, result.widened) == (4, [], {"age": "decimal"})
    assert read(store, table) == [
        (1, "Female", 34.0, 2.91, False, date(2024, 3, 2)),
        (2, "Male", 51.5, 3.4, True, date(2024, 3, 5)),
        (3, "Female", None, 2.1, False, date(2024, 4, 11)),
        (4, "Male", 29.0, 3.05, False, None),
    ]


# Replacing, dropping, reading


def test_a_new_load_replaces_the_table_and_its_types(store, csv_file):
    store.load_csv("ages", AGES, csv_file("id,age\n1,1.5\n2,2\n"))
    result = store.load_csv("ages", AGES, csv_file("id,age\n3,3\n"))
    assert result.widened == {}
    assert store.columns("ages") == {"id": "integer", "age": "integer"}
    assert read(store, "ages") == [(3, 3)]


def test_drop_removes_a_table_and_ignores_one_that_is_absent(store, csv_file):
    store.load_csv("ages", AGES, csv_file("id,age\n1,2\n"))
    store.drop("ages")
    store.drop("ages")
    store.drop("never_loaded")
    assert store.columns("ages") is None
    assert "ages" not in tables_of(store)


def test_the_read_only_engine_reads_but_cannot_write(store, csv_file):
    store.load_csv("ages", AGES, csv_file("id,age\n1,2\n"))
    engine = store.read_only_engine()
    for sql in (f"INSERT INTO {store.quoted('ages')} VALUES (2, 3)",
                f"UPDATE {store.quoted('ages')} SET age = 0",
                f"DROP TABLE {store.quoted('ages')}",
                f"CREATE TABLE {store.quoted('other')} (x integer)"):
        with engine.connect() as connection, pytest.raises(Exception) as refused:
            connection.execute(text(sql))
            connection.commit()
        assert "read" in str(refused.value).lower(), sql  # readonly / read-only transaction
    assert read(store, "ages") == [(1, 2)]


def test_the_store_lives_apart_from_the_app_s_tables(make_app, make_store, fairhub_backend):
    store = make_store()
    assert make_store() is not store
    if fairhub_backend == "sqlite":
        assert store.url.database.endswith("/instance/tables.db")
    else:
        assert store.schema.startswith("tables_")
    app = make_app()
    assert TableStore.from_app(app) is TableStore.from_app(app)
    TableStore.from_app(app).dispose()


# Names


def test_table_names_are_short_distinct_and_safe():
    assert table_name("asthma_participants") == "asthma_participants"
    assert table_name("_x1") == "_x1"
    pairs = [("Visits", "visits"), ("VISITS", "Visits"), ("a" * 64, "a" * 63 + "b"),
             ("sqlite_stat1", "sqlite_Stat1")]
    for first, second in pairs:
        assert table_name(first).lower() != table_name(second).lower()
    for code in ("Visits", "a" * 64, "B" * 200, "sqlite_stat1"):
        name = table_name(code)
        assert name == table_name(code) and len(name.encode()) <= 63
        assert not name.lower().startswith("sqlite_") and "$" in name
    for code in ("1abc", "a-b", "a b", "", 'x"y', "é"):
        with pytest.raises(ValueError):
            table_name(code)


def test_codes_differing_in_case_load_apart_and_identifiers_are_quoted(store, csv_file):
    fields = [{"name": "select", "type": "integer"}, {"name": 'odd "name"', "type": "text"}]
    store.load_csv(table_name("Group"), fields, csv_file('select,"odd ""name"""\n1,upper\n'))
    store.load_csv(table_name("group"), fields, csv_file('select,"odd ""name"""\n2,lower\n'))
    assert read(store, table_name("Group")) == [(1, "upper")]
    assert read(store, table_name("group")) == [(2, "lower")]


@pytest.mark.parametrize("table", ["$load_x", "sqlite_master", "x" * 64, ""])
def test_names_a_load_may_not_take_are_refused(store, csv_file, table):
    with pytest.raises(ValueError):
        store.load_csv(table, AGES, csv_file("id,age\n"))


def test_a_dictionary_with_a_bad_field_list_is_refused(store, csv_file):
    for fields in ([], [{"name": "a", "type": "float"}],
                   [{"name": "a", "type": "text"}, {"name": "A", "type": "text"}]):
        with pytest.raises(ValueError):
            store.load_csv("t", fields, csv_file("a\n"))
