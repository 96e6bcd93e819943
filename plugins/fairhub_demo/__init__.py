"""The demo plugin: ``fairhub demo`` fills an instance with made-up example datasets."""
