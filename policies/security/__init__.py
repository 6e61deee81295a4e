"""The security policy pack: encryption at rest and in transit, network exposure, identity,
secrets handling, node hardening and prod resilience for the llmops platform on AWS.

``policies.security.pack.policies()`` builds every policy; ``__main__.py`` serves them.
"""
