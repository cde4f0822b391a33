"""The scoping conversation: slots, slot filling (patterns, MiniLM similarity, optional LLM), the dialogue
manager and answers from the guides."""
