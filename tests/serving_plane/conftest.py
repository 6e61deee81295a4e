"""The moto server the capacity tests use (real HTTP on loopback, fake credentials), for
the model store and secrets tests."""

from tests.capacity.conftest import aws_env, moto_url

__all__ = ["aws_env", "moto_url"]
