"""Sub-commands of ``asymlp``: one module per command, each with ``register(subparsers)``.

A module registers its parser and sets ``func`` (``args -> exit code``) as the default.
"""
