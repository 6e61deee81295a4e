"""Vector stores behind one interface (:class:`serving.stores.base.VectorStore`):
PostgreSQL + pgvector (:class:`serving.vectorstore.PgVectorStore`; embedded locally, Aurora
on AWS) and OpenSearch (:class:`serving.stores.opensearch.OpenSearchStore`; an OpenSearch
Serverless vector collection). :func:`serving.stores.factory.open_store` opens the one a
serve config names."""
