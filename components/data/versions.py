"""Pinned versions of the managed data services. Upgrades are deliberate: bump here, plan,
review the diff, roll through dev -> staging -> prod.

Sources (checked 2026-11):
- Aurora PostgreSQL 17.7 is the designated long-term-support minor of major 17 (AWS, "Aurora
  PostgreSQL long-term support (LTS) releases"); it ships pgvector 0.8 (HNSW since 0.5.0) and
  supports Aurora Serverless v2 scaling to 0 ACUs (auto-pause needs 13.15/14.12/15.7/16.3 or
  later, and any 17.x).
- ElastiCache Serverless: Valkey major 8, Redis OSS major 7. Node-based: Valkey 8.0, Redis OSS
  7.1 (the newest of each line that supports RBAC users with IAM authentication).
- ``SecretsManagerRDSPostgreSQLRotationSingleUser`` 1.1.671: the Secrets Manager rotation
  function in the AWS Serverless Application Repository, as aws-cdk-lib pins it
  (``aws-secretsmanager/lib/secret-rotation.ts``, ``POSTGRES_ROTATION_SINGLE_USER``).
"""

from __future__ import annotations

AURORA_POSTGRES_VERSION = "17.7"
AURORA_POSTGRES_FAMILY = "aurora-postgresql17"
"""The cluster parameter group family of :data:`AURORA_POSTGRES_VERSION`."""

SERVERLESS_CACHE_MAJOR = {"valkey": "8", "redis": "7"}
"""``major_engine_version`` of ElastiCache Serverless per engine."""
NODE_CACHE_VERSION = {"valkey": "8.0", "redis": "7.1"}
"""``engine_version`` of node-based replication groups per engine."""

ROTATION_APPLICATION = "arn:aws:serverlessrepo:us-east-1:297356227824:applications/SecretsManagerRDSPostgreSQLRotationSingleUser"
ROTATION_APPLICATION_VERSION = "1.1.671"
