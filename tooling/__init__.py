"""Developer tooling for this project: the account-free local cloud and the PR stack-diff report."""
