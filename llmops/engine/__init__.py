"""The offline engine: a Pulumi Python program run under the SDK's mock runtime as a
preview, with every resource recorded (type, name, URN, parent, provider/region,
dependencies, inputs, outputs as the provider would return them) and every read."""

from llmops.engine.project import (
    Project,
    StackConfig,
    load_project,
    load_stack_config,
    load_stack_references,
)
from llmops.engine.runner import PlanResult, ProgramError, ResourceRecord, plan, run_program

__all__ = [
    "PlanResult",
    "ProgramError",
    "Project",
    "ResourceRecord",
    "StackConfig",
    "load_project",
    "load_stack_config",
    "load_stack_references",
    "plan",
    "run_program",
]
