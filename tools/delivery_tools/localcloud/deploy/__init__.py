"""`local-cloud deploy|diff|destroy`: the real CDK CLI against the local cloud, verified by reading back."""
