"""The command line above both libraries: ``python -m perfmodel`` and ``python -m tco``.

:mod:`~liminal_cli.startup` starts an entry point (a missing dependency is one line),
:mod:`~liminal_cli.arguments` holds the argument types and the one-line error handling,
:mod:`~liminal_cli.perfmodel_commands`, :mod:`~liminal_cli.serve_commands`,
:mod:`~liminal_cli.tco_commands` and :mod:`~liminal_cli.plan_command` the commands. It may import
every library layer; no library module imports it.
"""
