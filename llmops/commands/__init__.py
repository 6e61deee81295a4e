"""CLI command groups. Each module exposes ``register(app)`` and keeps heavy imports
(pulumi, ray, boto3) inside the command functions so ``llmops --help`` stays fast."""
