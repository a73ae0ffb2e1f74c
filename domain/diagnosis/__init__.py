"""Reading a failed CI log: structure, evidence, playbooks, the verdict (category, action, key line)."""
