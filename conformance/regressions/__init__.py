"""Version-regression specs: async and threading bugs that real LLM frameworks shipped.

Each spec reproduces one published bug (framework, versions and upstream issue in
``catalogue.py`` and in the spec's docstring) against any client, through the
``ClientAdapter`` protocol, and is one row of the parity report
(``scenario: regression/<id>``, ``kind: regression``).

    pytest conformance/regressions                                   replay, offline
    pytest conformance/regressions --record-mode=rewrite --emulator  re-record cassettes

Specs that call a model run for every selected provider and replay
``cassettes/<provider>/regressions/<id>.yaml``; the others (pure context and thread
behaviour) run once, with provider ``-``.
"""
