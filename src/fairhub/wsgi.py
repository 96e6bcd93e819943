"""WSGI entry point of an installed fairhub: ``gunicorn fairhub.wsgi:app``.

Configuration comes from FAIRHUB_* variables; see the README.
"""
from fairhub import create_app

app = create_app()
