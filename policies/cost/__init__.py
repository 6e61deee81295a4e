"""The cost policy pack: which GPUs may run where and how many, how GPU pools are bought
and scaled in dev, cost-allocation tags, allowed regions, and the stack's estimated
monthly cost against its budget.

``policies.cost.pack.policies()`` builds every policy; ``__main__.py`` serves them.
"""
