"""The base layer: what every other layer may use and which uses none of them.

- :mod:`core.catalog`: regions, EC2 instance types and prices, as data with typed accessors;
- :mod:`core.errors`: the project's exception hierarchy and exit codes;
- :mod:`core.problems`: the one formatter of config problems (path + fix) both schemas use;
- :mod:`core.literals`: names two layers must agree on (tag keys, config namespace).

Nothing here imports Pulumi, Ray, the CLI or any other package of the project.
"""
