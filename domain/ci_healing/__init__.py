"""CI healing: runs, risk gate, approval, fix plans, outcomes, reports, the LLM second opinion."""
