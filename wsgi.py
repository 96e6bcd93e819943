"""WSGI entry point of a checkout: ``gunicorn wsgi:app``.

The instance folder defaults to ``instance/`` beside this file; set FAIRHUB_INSTANCE_PATH to
serve another instance from the same checkout.
"""
import os
from pathlib import Path

os.environ.setdefault("FAIRHUB_INSTANCE_PATH", str(Path(__file__).resolve().parent / "instance"))

from fairhub.wsgi import app  # noqa: E402,F401
