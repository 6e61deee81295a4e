"""Policy pack entry point: ``pulumi preview --policy-pack policies/security`` runs this file,
which serves the pack's analyzer over gRPC. The policies live in ``policies.security.*``."""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # the repository root, when the project is not installed
    sys.path.append(_ROOT)

from policies.security.pack import serve  # noqa: E402

serve()
