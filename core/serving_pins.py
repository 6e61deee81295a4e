"""What the serving plane pins and the stack config checks releases against: the Ray version
(the serving image is built FROM rayproject/ray of it; pyproject.toml's ``serving`` extra pins
the same) and the chart versions a release may name, those whose CRDs and values the project
carries and validates against. ``components.versions`` installs them; ``stacks.config``
refuses a release that names anything else."""

from __future__ import annotations

RAY_VERSION = "2.60.0"
KUBERAY_VERSION = "1.7.0"
AWS_LOAD_BALANCER_CONTROLLER_VERSION = "3.5.0"
"""Chart 3.5.0 is controller v3.5.0 (the chart's appVersion at that tag)."""

SERVING_CHART_VERSIONS: dict[str, tuple[str, ...]] = {
    "kuberay-operator": (KUBERAY_VERSION,),
    "aws-load-balancer-controller": (AWS_LOAD_BALANCER_CONTROLLER_VERSION,),
}
"""Chart versions a release may name (``llmops:serving.release.chartVersions``); the first is
the default."""
