"""Remote analysers Fixloop delegates to (A2A agents); they answer in the LLM's verdict schema."""
