"""The files plugin's settings (``FILES_*``), each overridable as ``FAIRHUB_FILES_*``."""
from __future__ import annotations

from fairhub import Setting

# The loaded tables' settings (read by fairhub_files.tables).
TABLE_SETTINGS = [
    Setting("FILES_TABLES_URL", None,
            "Database of the loaded tables; default a SQLite file `tables.db` in the instance "
            "folder, or on PostgreSQL the application's database (in `FILES_TABLES_SCHEMA`)."),
    Setting("FILES_TABLES_SCHEMA", "fairhub_tables",
            "PostgreSQL schema of the loaded tables (ignored on SQLite)."),
    Setting("FILES_TABLES_READ_URL", None,
            "Database URL the selection API reads the tables with, read-only; default that "
            "of the tables. On PostgreSQL, a role that may only SELECT makes a hard boundary."),
    Setting("FILES_TABLES_BATCH_ROWS", 20000,
            "Rows a load converts and writes at a time, and between two progress reports."),
    Setting("FILES_TABLES_STRICT_LOOKUPS", False,
            "Fail a load whose file holds a value that is not an option of its field's lookup, "
            "instead of loading it and reporting it."),
]

SETTINGS = [
    Setting("FILES_STORAGE_PATH", None,
            "Folder of the stored files and unfinished uploads; default `files/` in the "
            "instance folder."),
    Setting("FILES_MAX_SIZE", 50 * 1024**3,
            "Largest upload in bytes (advertised as Tus-Max-Size); larger ones get 413."),
    Setting("FILES_UPLOAD_EXPIRY_HOURS", 24.0,
            "How long an unfinished upload waits for its next chunk before `fairhub files "
            "cleanup` may delete it."),
    Setting("FILES_WRITE_LEASE_SECONDS", 10.0,
            "How long a request writing to an upload holds it (renewed while it writes); "
            "another writer meanwhile gets 423. After a worker dies mid-chunk, the upload "
            "resumes once this has passed."),
    Setting("FILES_DEFAULT_VIEWING", {"attachment": "viewable", "datafile": "hidden"},
            "Viewing setting of a new attachment and of a new data file."),
    Setting("FILES_DEFAULT_TRANSFER", {"attachment": "optional", "datafile": "disabled"},
            "Transfer setting of a new attachment and of a new data file."),
] + TABLE_SETTINGS
