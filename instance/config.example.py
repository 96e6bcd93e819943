# fairhub instance configuration: copy to config.py beside this file.
# Every key can also be set as an environment variable with the FAIRHUB_ prefix, which wins.

# PostgreSQL for production (default: SQLite file fairhub.db in this folder).
# DATABASE_URL = "postgresql://fairhub@db.example.org/fairhub"

# Plugins to enable, in order (default: every installed plugin).
# PLUGINS = "datasets,search,files,requests"

# One JSON object a log line, with the request id.
# LOG_FORMAT = "json"

# Largest request body in bytes.
# MAX_CONTENT_LENGTH = 5 * 1024 * 1024

# Let anonymous callers see public datasets.
# PUBLIC_MODE = True

# Datasets: records `fairhub datasets import` commits per transaction.
# DATASETS_IMPORT_BATCH = 500
