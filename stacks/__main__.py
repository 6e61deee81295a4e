"""Program entry: what ``pulumi up`` (and the offline engine) runs. Validates the stack
config before any resource exists, warns about what today's calendar says of it (a
Kubernetes version out of standard support, :mod:`stacks.preflight`), composes the
platform, exports its outputs."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # the project root, when the package is not installed
    sys.path.insert(0, _ROOT)

import pulumi  # noqa: E402

from stacks import config as stack_config  # noqa: E402
from stacks.platform import build, stack_outputs  # noqa: E402
from stacks.preflight import plan_warnings, today  # noqa: E402

try:
    CONFIG = stack_config.from_pulumi()
except stack_config.ConfigError as error:
    raise pulumi.RunError(str(error)) from None

for warning in plan_warnings(CONFIG, today()):
    pulumi.log.warn(warning)

for key, value in stack_outputs(CONFIG, build(CONFIG, pulumi.get_stack(), pulumi.get_project())).items():
    pulumi.export(key, value)
