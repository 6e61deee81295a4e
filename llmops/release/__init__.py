"""Releases and their path through the stacks: what a release is, the checks it must pass
on a running endpoint, the gates before it moves on, and the deploy that puts it there.

- :mod:`llmops.release.identity`: a release and its fingerprint;
- :mod:`llmops.release.stackfile`: the release section of a stack file, edited in place;
- :mod:`llmops.release.results`: smoke and evaluation results, stored per release;
- :mod:`llmops.release.smoke` and :mod:`llmops.release.evaluation`: the checks against an
  OpenAI-compatible endpoint (:mod:`llmops.release.api`, :mod:`llmops.release.checks`);
- :mod:`llmops.release.gates` and :mod:`llmops.release.promote`: ``llmops promote``;
- :mod:`llmops.release.driver`: ``llmops deploy`` through the Pulumi Automation API.

Importing this package is cheap: modules that need httpx, Pulumi or rich import them
themselves.
"""
