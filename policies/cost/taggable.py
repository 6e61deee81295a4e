"""Which AWS resource types take tags (and so must carry the cost-allocation tags).

The list is generated from the installed ``pulumi_aws`` SDK: a resource type is taggable
when its class has a ``tags_all`` output, i.e. it accepts ``tags`` and receives the
provider's ``default_tags``. Regenerate after upgrading pulumi-aws::

    python -m policies.cost.taggable
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path

DATA_FILE = "taggable_types.json"
_TOKEN = re.compile(r'^@pulumi\.type_token\("(aws:[^"]+)"\)', re.MULTILINE)
_TAGS_ALL_OUTPUT = re.compile(r"def tags_all\(self\) -> pulumi\.Output\[")


@cache
def taggable_types() -> frozenset[str]:
    """AWS resource type tokens that support tags and provider default tags."""
    text = resources.files("policies.cost").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return frozenset(json.loads(text)["types"])


def scan_sdk(package_dir: Path) -> list[str]:
    """Type tokens of ``pulumi_aws`` resource classes that have a ``tags_all`` output."""
    found: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        matches = list(_TOKEN.finditer(source))
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(source)
            if _TAGS_ALL_OUTPUT.search(source, match.end(), end):
                found.add(match.group(1))
    return sorted(found)


def main() -> None:
    """Regenerates ``data/taggable_types.json`` from the installed pulumi-aws."""
    import pulumi_aws

    package_dir = Path(pulumi_aws.__file__).parent
    from importlib.metadata import version

    types = scan_sdk(package_dir)
    document = {
        "source": f"pulumi-aws {version('pulumi-aws')} (classes with a tags_all output)",
        "types": types,
    }
    target = Path(__file__).parent / "data" / DATA_FILE
    target.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"{len(types)} taggable types written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
