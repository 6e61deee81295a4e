"""LLM backends behind one interface (:class:`serving.llm.base.LLMBackend`): vLLM on GPU,
transformers on CPU, any OpenAI-compatible upstream, and the extractive fallback; plus the
ordered fallback chain that tries them in turn."""
