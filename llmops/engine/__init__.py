"""The offline engine: a Pulumi Python program run under the SDK's mock runtime, with every
resource recorded (type, name, URN, parent, provider/region, dependencies, inputs)."""

from llmops.engine.project import Project, StackConfig, load_project, load_stack_config
from llmops.engine.runner import PlanResult, ProgramError, ResourceRecord, plan, run_program

__all__ = [
    "PlanResult",
    "ProgramError",
    "Project",
    "ResourceRecord",
    "StackConfig",
    "load_project",
    "load_stack_config",
    "plan",
    "run_program",
]
