"""The security policy pack: encryption at rest and in transit, network exposure, resource
policies, identity and trust, secrets handling, logging and monitoring, node hardening, load
balancers, DNS and prod resilience for the llmops platform on AWS.

``policies.security.pack.policies()`` builds every policy; ``__main__.py`` serves them.
``docs/policy-coverage.md`` maps them to Checkov's and AWSGuard's checks.
"""
