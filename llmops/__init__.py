"""llmops-platform: the project's own tooling (offline engine, cost model, policy runner, CLI).

Importing this package is cheap on purpose: the Pulumi program imports ``llmops.catalog``
and must not pull in the CLI, Ray or torch.
"""

__version__ = "0.1.0"
