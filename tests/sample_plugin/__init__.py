"""A third-party plugin that lives only in the tests: it proves what a plugin can add.

It touches nothing in the core: a table with its own migration, a blueprint with a paged
list, a permission, a config default, a CLI command and an event listener.
"""

SAMPLE = "sample_plugin.plugin"  # the name tests enable it by: it is not installed
