"""Finding a stack's file and the release it pins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmops.release.errors import ReleaseError
from llmops.release.identity import Release
from llmops.release.stackfile import RELEASE_PATH, StackFile, read_stack_file


@dataclass(frozen=True)
class PinnedStack:
    """A stack of a project: the project's root, its stack file and the release it pins."""

    name: str
    root: Path
    file: StackFile

    @property
    def environment(self) -> str:
        return self.file.environment or self.name

    def release(self) -> Release:
        """The pinned release; a clear error when the stack pins none."""
        values = self.file.release
        if values is None:
            raise ReleaseError(
                f"{self.name} pins no release: {self.file.path} has no {RELEASE_PATH}. Pin one there "
                f"(modelId, modelRevision, image, ...), e.g. `llmops release set --stack {self.name} image=REPO@sha256:...`"
            )
        return Release(self.name, values)


def load_stack(program_dir: Path, stack: str) -> PinnedStack:
    """``stack`` of the Pulumi project in ``program_dir`` (unknown stacks are listed)."""
    from llmops.engine import load_project

    project = load_project(program_dir)
    return PinnedStack(stack, project.root, read_stack_file(project.stack_file(stack)))
