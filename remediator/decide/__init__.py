"""The pure decision core: engine, guards, guard state, follow-ups, simulate, rules test."""
