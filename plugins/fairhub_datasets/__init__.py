"""The datasets plugin: the catalogue's datasets, their data dictionaries and who may see them."""
