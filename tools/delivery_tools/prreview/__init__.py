"""Review of stack changes between two revisions (or against deployed stacks) with the CDK's diff engine.

Synthesizes both sides offline, compares every stack of every environment, and blocks pull requests that
would replace or delete resources the app marks stateful unless an allow-list names them.
"""
