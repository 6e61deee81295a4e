"""``ServingPlane``: the Serve applications of the stack on one region's cluster.

* the KubeRay operator (Helm, the v1.7 line; its CRDs come from the chart's ``crds/``), in
  the serving namespace with namespaced RBAC;
* a service account whose EKS Pod Identity role reads exactly the named buckets and
  Secrets Manager secrets; secrets reach pods at start through an init container and an
  in-memory env file (:mod:`serving.secrets_env`), never through a manifest or the plan;
* a ``RayService`` (:mod:`.manifests`): a CPU head on the system nodes (``num-cpus: "0"``),
  a CPU worker group for the ingress and embeddings (on a Karpenter NodePool of its own, or
  the system nodes), one worker group per GPU pool (the pool's toleration, node selector,
  GPU count and bounds), requests sized to fit the smallest node (:mod:`.sizing`), Ray's
  in-tree autoscaler, GCS fault tolerance on the region's Redis when there is one, and
  ``upgradeStrategy: NewCluster``; pod disruption budgets per group;
* a Job that copies the release model's pinned revision into the model bucket once
  (:mod:`serving.model_store`), so replicas load from S3;
* the load balancer (:mod:`.exposure`): an internal NLB, or a public ALB with TLS and WAF,
  bound to the Serve service by the AWS Load Balancer Controller (Helm, its own policy,
  :mod:`.iam`) through a ``TargetGroupBinding``;
* document ingestion: ``RayJob``\\ s of the Ray Data pipeline, started by a ``RayCronJob``
  and/or by the ingestion trigger (a Deployment reading the bucket's S3 event queue, with
  a role that reads that queue only and RBAC that manages ``rayjobs`` only).
"""

from components.serving_plane.args import (
    AccessArgs,
    AutoscalerArgs,
    CertificateArgs,
    CpuNodePoolArgs,
    CpuWorkersArgs,
    ExposureArgs,
    GcsArgs,
    HeadArgs,
    IngestionArgs,
    IngestionEventsArgs,
    MigrationsArgs,
    ModelCopyArgs,
    SecretRef,
    ServingPlaneArgs,
    WorkerGroupArgs,
)
from components.serving_plane.component import ServingPlane

__all__ = [
    "AccessArgs",
    "AutoscalerArgs",
    "CertificateArgs",
    "CpuNodePoolArgs",
    "CpuWorkersArgs",
    "ExposureArgs",
    "GcsArgs",
    "HeadArgs",
    "IngestionArgs",
    "IngestionEventsArgs",
    "MigrationsArgs",
    "ModelCopyArgs",
    "SecretRef",
    "ServingPlane",
    "ServingPlaneArgs",
    "WorkerGroupArgs",
]
