"""The requests plugin: data access requests, their review, and the grants they give."""
