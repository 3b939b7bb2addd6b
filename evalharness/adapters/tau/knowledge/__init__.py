"""A τ²-bench knowledge base (``banking_knowledge``) and the retrieval configurations an agent reads it with."""
