"""The project's Pulumi policy packs.

Each sub-package is a real Pulumi policy pack (``PulumiPolicy.yaml``, ``__main__.py``,
``requirements.txt``) that ``pulumi preview --policy-pack policies/<pack>`` loads; its
policies also live in importable modules (``policies.security.encryption`` and so on) so
they can be unit-tested and reused. ``policies.common`` holds what both packs share: safe
property access, tag/region/environment resolution, the config-schema helpers, the CIDR and
resource-link helpers, and the analyzer that serves a pack (each resource reaches only the
policies of its type). ``policies.coverage`` maps the packs to Checkov's and AWSGuard's checks.
"""
