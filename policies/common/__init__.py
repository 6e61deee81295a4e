"""Helpers shared by the policy packs (no Pulumi engine needed to import them)."""
