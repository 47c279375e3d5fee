"""Developer tools of the model-delivery project: the account-free local cloud, the PR review, benchmarks."""
