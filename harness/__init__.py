"""llm-parity: a reference multi-provider LLM client and a conformance suite."""
