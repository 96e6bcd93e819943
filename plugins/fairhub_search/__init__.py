"""The search plugin: ranked full-text search over the catalogue (in progress: the query
language so far; the index, backends and routes come next)."""
