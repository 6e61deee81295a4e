"""llmops-platform: the project's own tooling (offline engine, cost model, policy runner, CLI).

It sits on top of the layers (see ``docs/architecture.md``): it may import ``stacks``,
``components`` and ``core``, and nothing below imports it. Importing this package stays
cheap: no CLI, Ray or torch.
"""

__version__ = "0.1.0"
